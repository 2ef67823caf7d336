import Foundation
import IonLinkCore

/// Reads Axon Binary Format files (ABF1 and ABF2, as written by pCLAMP/Clampex): sweeps, sampling rate,
/// channel names, units and scaling, and the command waveform of the first DAC rebuilt from the protocol's
/// epoch table (step epochs; the pre-epoch holding period is 1/64 of the sweep, as Clampex inserts it).
///
/// The voltage channel is the first ADC channel in mV (or V); the current is the second ADC channel in pA
/// (or nA) if recorded, else the command waveform.
public enum ABFReader {
    static let blockSize = 512

    public static func read(_ path: String, hints: Recording.Hints = Recording.Hints()) throws -> Recording {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw InputError(file: path, "cannot read the file (does it exist?)")
        }
        var recording = try parse(data, file: path)
        // Without an epoch table or current channel, the step comes from the command line.
        for i in recording.sweeps.indices where recording.sweeps[i].steps.isEmpty {
            if let step = hints.step(index: i) { recording.sweeps[i].steps = [step] }
        }
        return recording
    }

    /// One ADC channel: name, unit and the scaling from stored integers to values.
    struct Channel {
        var name: String
        var unit: String
        var gain: Double
        var offset: Double
    }

    /// One epoch of the DAC waveform table.
    struct Epoch {
        var type: Int
        var level: Double
        var levelIncrement: Double
        var duration: Int
        var durationIncrement: Int
    }

    /// What both versions' headers boil down to.
    struct Layout {
        var dataOffset: Int
        var dataFormat: Int          // 0 = int16, 1 = float32
        var channels: [Channel]
        var sweepCount: Int
        var pointsPerSweep: Int      // per channel
        var sampleInterval: Double   // s
        var holding: Double
        var epochs: [Epoch]
        var returnToHold: Bool
        var dacUnit: String
    }

    static func parse(_ data: Data, file: String) throws -> Recording {
        let reader = ByteReader(data: data, file: file)
        let signature = String(decoding: try reader.bytes(at: 0, count: 4), as: UTF8.self)
        let layout: Layout
        switch signature {
        case "ABF2": layout = try version2(reader)
        case "ABF ": layout = try version1(reader)
        default: throw InputError(file: file, location: "byte 0", "not an ABF file (expected the signature 'ABF2' or 'ABF ', found \"\(signature)\")")
        }
        return try sweeps(layout, reader: reader, file: file)
    }

    // MARK: - ABF2

    static func version2(_ r: ByteReader) throws -> Layout {
        /// A section's (block, bytes per entry, entries), checked against the file: a damaged count (negative, or more
        /// entries than bytes) is an error naming the section's place in the header.
        func section(_ offset: Int) throws -> (block: Int, bytes: Int, count: Int) {
            let block = Int(try r.uint32(at: offset)), bytes = Int(try r.uint32(at: offset + 4)), count = try r.int64(at: offset + 8)
            guard count >= 0, count <= Int64(r.data.count) else {
                throw InputError(file: r.file, location: "header byte \(offset + 8)", "a section count of \(count): the file is damaged")
            }
            return (block, bytes, Int(count))
        }
        let sweepCountField = Int(try r.uint32(at: 12))
        let dataFormat = Int(try r.uint16(at: 30))
        let protocolSection = try section(76), adc = try section(92), dac = try section(108)
        let epochPerDAC = try section(156), strings = try section(220), dataSection = try section(236)
        let p = protocolSection.block * blockSize
        let interval = Double(try r.float32(at: p + 2))
        let samplesPerEpisode = Int(try r.int32(at: p + 22))
        let adcRange = Double(try r.float32(at: p + 110))
        let adcResolution = Double(try r.int32(at: p + 118))
        let activeDAC = Int(try r.int16(at: p + 142))
        guard interval > 0, adcResolution > 0, adc.count >= 1, adc.count <= 16 else {
            throw InputError(file: r.file, location: "protocol section", "implausible header (sample interval \(interval) µs, ADC resolution \(adcResolution), \(adc.count) channels): the file is damaged or not an ABF2 recording")
        }
        let indexed = try indexedStrings(r, block: strings.block, bytes: strings.bytes)
        var channels: [Channel] = []
        for i in 0..<adc.count {
            let o = adc.block * blockSize + i * adc.bytes
            let telegraphEnabled = try r.int16(at: o + 2) != 0
            let telegraphGain = Double(try r.float32(at: o + 6))
            let programmableGain = Double(try r.float32(at: o + 28))
            let instrumentScale = Double(try r.float32(at: o + 40))
            let instrumentOffset = Double(try r.float32(at: o + 44))
            let signalGain = Double(try r.float32(at: o + 48))
            let signalOffset = Double(try r.float32(at: o + 52))
            let nameIndex = Int(try r.int32(at: o + 74)), unitIndex = Int(try r.int32(at: o + 78))
            var gain = 1.0 / instrumentScale / signalGain / programmableGain
            if telegraphEnabled { gain /= telegraphGain }
            gain = gain * adcRange / adcResolution
            channels.append(Channel(name: indexed.at(nameIndex), unit: indexed.at(unitIndex), gain: gain,
                                    offset: instrumentOffset - signalOffset))
        }
        let dacIndex = max(0, activeDAC)
        var holding = 0.0, returnToHold = false, dacUnit = ""
        if dac.count > dacIndex {
            let o = dac.block * blockSize + dacIndex * dac.bytes
            holding = Double(try r.float32(at: o + 12))
            returnToHold = try r.int16(at: o + 44) != 0
            dacUnit = indexed.at(Int(try r.int32(at: o + 28)))
        }
        var epochs: [Epoch] = []
        for i in 0..<epochPerDAC.count {
            let o = epochPerDAC.block * blockSize + i * epochPerDAC.bytes
            guard Int(try r.int16(at: o + 2)) == dacIndex else { continue }
            epochs.append(Epoch(type: Int(try r.int16(at: o + 4)), level: Double(try r.float32(at: o + 6)),
                                levelIncrement: Double(try r.float32(at: o + 10)), duration: Int(try r.int32(at: o + 14)),
                                durationIncrement: Int(try r.int32(at: o + 18))))
        }
        let channelCount = channels.count
        let gapFree = sweepCountField <= 1 && samplesPerEpisode <= 0
        return Layout(dataOffset: dataSection.block * blockSize, dataFormat: dataFormat, channels: channels,
                      sweepCount: max(1, sweepCountField),
                      pointsPerSweep: (gapFree ? dataSection.count : samplesPerEpisode) / channelCount,
                      sampleInterval: interval * 1e-6, holding: holding, epochs: epochs, returnToHold: returnToHold, dacUnit: dacUnit)
    }

    /// The strings section's indexed strings: from the last double NUL of its first entry, split at NULs
    /// (index 1 is the first string, as header indexes count them).
    static func indexedStrings(_ r: ByteReader, block: Int, bytes: Int) throws -> [String] {
        guard bytes > 0 else { return [] }
        let raw = try r.bytes(at: block * blockSize, count: bytes)
        var start = 0
        if raw.count >= 2 {
            for i in stride(from: raw.count - 2, through: 0, by: -1) where raw[i] == 0 && raw[i + 1] == 0 { start = i; break }
        }
        let pieces = raw[start...].split(separator: 0, omittingEmptySubsequences: false).dropFirst()
        return pieces.map { String(decoding: $0.map { $0 == 0xB5 ? 0x75 : $0 }, as: UTF8.self).trimmingCharacters(in: .whitespaces) }
    }

    // MARK: - ABF1

    static func version1(_ r: ByteReader) throws -> Layout {
        let dataBlock = Int(try r.int32(at: 40))
        let pointsIgnored = Int(try r.int16(at: 14))
        let sweepCountField = Int(try r.int32(at: 16))
        let dataFormat = Int(try r.int16(at: 100))
        let channelCount = Int(try r.int16(at: 120))
        let interval = Double(try r.float32(at: 122))
        let samplesPerEpisode = Int(try r.int32(at: 138))
        let adcRange = Double(try r.float32(at: 244))
        let adcResolution = Double(try r.int32(at: 252))
        guard channelCount >= 1, channelCount <= 16, interval > 0, adcResolution > 0 else {
            throw InputError(file: r.file, location: "header", "implausible header (\(channelCount) channels, sample interval \(interval) µs, ADC resolution \(adcResolution)): the file is damaged or not an ABF1 recording")
        }
        // Old ABF1 headers are 2048 bytes; fields past the header (telegraphs, epochs) exist only in the
        // extended 6144-byte header, i.e. when the data start after them.
        let headerEnd = dataBlock * blockSize
        var channels: [Channel] = []
        for i in 0..<channelCount {
            let physical = Int(try r.int16(at: 410 + 2 * i))
            guard (0..<16).contains(physical) else {
                throw InputError(file: r.file, location: "header, nADCSamplingSeq[\(i)]", "expected a channel number 0…15, found \(physical)")
            }
            let name = try r.string(at: 442 + 10 * physical, length: 10)
            let unit = try r.string(at: 602 + 8 * physical, length: 8)
            let programmableGain = Double(try r.float32(at: 730 + 4 * physical))
            let instrumentScale = Double(try r.float32(at: 922 + 4 * physical))
            let instrumentOffset = Double(try r.float32(at: 986 + 4 * physical))
            let signalGain = Double(try r.float32(at: 1050 + 4 * physical))
            let signalOffset = Double(try r.float32(at: 1114 + 4 * physical))
            let telegraphEnabled = try headerEnd >= 4576 + 64 && r.int16(at: 4512 + 2 * physical) != 0
            let telegraphGain = telegraphEnabled ? Double(try r.float32(at: 4576 + 4 * physical)) : 1
            var gain = 1.0 / instrumentScale / signalGain / programmableGain
            if telegraphEnabled { gain /= telegraphGain }
            gain = gain * adcRange / adcResolution
            channels.append(Channel(name: name, unit: unit, gain: gain, offset: instrumentOffset - signalOffset))
        }
        var epochs: [Epoch] = []
        for i in 0..<(headerEnd >= 2628 ? 10 : 0) {
            epochs.append(Epoch(type: Int(try r.int16(at: 2308 + 2 * i)), level: Double(try r.float32(at: 2348 + 4 * i)),
                                levelIncrement: Double(try r.float32(at: 2428 + 4 * i)),
                                duration: Int(try r.int32(at: 2508 + 4 * i)), durationIncrement: Int(try r.int32(at: 2588 + 4 * i))))
        }
        let returnToHold = try headerEnd >= 2306 && r.int16(at: 2304) != 0
        let bytesPerPoint = dataFormat == 1 ? 4 : 2
        let totalPoints = Int(try r.int32(at: 10))
        let gapFree = sweepCountField <= 1 && samplesPerEpisode <= 0
        return Layout(dataOffset: dataBlock * blockSize + pointsIgnored * bytesPerPoint, dataFormat: dataFormat, channels: channels,
                      sweepCount: max(1, sweepCountField), pointsPerSweep: (gapFree ? totalPoints : samplesPerEpisode) / channelCount,
                      sampleInterval: interval * Double(channelCount) * 1e-6, holding: 0, epochs: epochs,
                      returnToHold: returnToHold, dacUnit: "pA")
    }

    // MARK: - Sweeps

    static func unitScale(_ unit: String, to target: String) -> Double? {
        let u = unit.trimmingCharacters(in: .whitespaces)
        switch (u, target) {
        case ("mV", "mV"), ("pA", "pA"): return 1
        case ("V", "mV"), ("nA", "pA"): return 1000
        case ("uV", "mV"), ("µV", "mV"), ("fA", "pA"): return 1e-3
        case ("uA", "pA"), ("µA", "pA"): return 1e6
        default: return nil
        }
    }

    static func sweeps(_ layout: Layout, reader r: ByteReader, file: String) throws -> Recording {
        guard layout.sampleInterval > 0 else { throw InputError(file: file, location: "header", "sample interval is zero") }
        let channelCount = layout.channels.count
        let n = layout.pointsPerSweep
        guard n > 1 else { throw InputError(file: file, location: "header", "sweeps of \(n) samples; expected a recorded sweep") }
        let bytesPerPoint = layout.dataFormat == 1 ? 4 : 2
        let needed = layout.dataOffset + layout.sweepCount * n * channelCount * bytesPerPoint
        guard needed <= r.data.count else {
            throw InputError(file: file, "truncated: \(layout.sweepCount) sweeps × \(n) samples × \(channelCount) channels need \(needed) bytes, the file has \(r.data.count)")
        }
        guard let voltageChannel = layout.channels.firstIndex(where: { unitScale($0.unit, to: "mV") != nil }) else {
            throw InputError(file: file, location: "ADC channels", "no voltage channel (units: \(layout.channels.map(\.unit).joined(separator: ", "))); expected a current-clamp recording in mV")
        }
        let currentChannel = layout.channels.firstIndex { unitScale($0.unit, to: "pA") != nil }
        let rate = 1 / layout.sampleInterval
        let time = (0..<n).map { Double($0) / rate }
        let commandScale = unitScale(layout.dacUnit, to: "pA") ?? 1
        var result: [Sweep] = []
        var lastLevel = layout.holding
        for s in 0..<layout.sweepCount {
            func channel(_ c: Int, scale: Double) throws -> [Double] {
                let info = layout.channels[c]
                return try (0..<n).map { k in
                    let offset = layout.dataOffset + ((s * n + k) * channelCount + c) * bytesPerPoint
                    let raw = layout.dataFormat == 1 ? Double(try r.float32(at: offset)) : Double(try r.int16(at: offset)) * info.gain + info.offset
                    return raw * scale
                }
            }
            let voltage = try channel(voltageChannel, scale: unitScale(layout.channels[voltageChannel].unit, to: "mV")!)
            // Command waveform from the epoch table.
            var command = [Double](repeating: lastLevel, count: n)
            var position = n / 64
            var steps: [CurrentStep] = []
            var level = layout.holding
            for epoch in layout.epochs where epoch.type != 0 {
                let duration = max(0, epoch.duration + epoch.durationIncrement * s)
                level = epoch.level + epoch.levelIncrement * Double(s)
                let end = min(n, position + duration)
                if position < end {
                    for k in position..<end { command[k] = level }
                    if epoch.type == 1 && level != layout.holding {
                        steps.append(CurrentStep(start: time[position], end: time[min(end, n - 1)], amplitude: (level - layout.holding) * commandScale))
                    }
                }
                position = end
            }
            if position < n { for k in position..<n { command[k] = layout.returnToHold ? level : layout.holding } }
            lastLevel = layout.returnToHold ? level : layout.holding
            let current = try currentChannel.map { try channel($0, scale: unitScale(layout.channels[$0].unit, to: "pA")!) }
                ?? command.map { $0 * commandScale }
            if steps.isEmpty { steps = StepFinder.steps(current: current, time: time) }
            result.append(Sweep(number: s, time: time, voltage: voltage, current: current, steps: steps,
                                label: layout.channels[voltageChannel].name))
        }
        return Recording(file: file, sweeps: result)
    }
}

/// Bounds-checked little-endian reads from a file's bytes; every failure names the file and offset.
struct ByteReader {
    let data: Data
    let file: String

    func bytes(at offset: Int, count: Int) throws -> [UInt8] {
        guard offset >= 0, count >= 0, offset <= data.count - count else {
            throw InputError(file: file, location: "byte \(offset)", "truncated: expected \(count) more bytes, the file has \(data.count) in all")
        }
        return [UInt8](data[data.startIndex + offset ..< data.startIndex + offset + count])
    }

    private func load<T: FixedWidthInteger>(_ type: T.Type, at offset: Int) throws -> T {
        let size = MemoryLayout<T>.size
        guard offset >= 0, offset <= data.count - size else {
            throw InputError(file: file, location: "byte \(offset)", "truncated: expected \(size) more bytes, the file has \(data.count) in all")
        }
        return T(littleEndian: data.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: T.self) })
    }

    func int16(at offset: Int) throws -> Int16 { try load(Int16.self, at: offset) }
    func uint16(at offset: Int) throws -> UInt16 { try load(UInt16.self, at: offset) }
    func int32(at offset: Int) throws -> Int32 { try load(Int32.self, at: offset) }
    func uint32(at offset: Int) throws -> UInt32 { try load(UInt32.self, at: offset) }
    func int64(at offset: Int) throws -> Int64 { try load(Int64.self, at: offset) }
    func float32(at offset: Int) throws -> Float { Float(bitPattern: try load(UInt32.self, at: offset)) }

    func string(at offset: Int, length: Int) throws -> String {
        let b = try bytes(at: offset, count: length)
        return String(decoding: b.prefix { $0 != 0 }.map { $0 == 0xB5 ? 0x75 : $0 }, as: UTF8.self).trimmingCharacters(in: .whitespaces)
    }
}

extension Array where Element == String {
    /// The element at `index`, or "" if out of range (a damaged index in a header).
    func at(_ index: Int) -> String { indices.contains(index) ? self[index] : "" }
}
