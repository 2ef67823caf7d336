import Foundation

/// A comma-separated table with a header row, as read from a file (RFC 4180 quoting; `#` lines are not special).
public struct CSVTable: Sendable {
    /// The file the table came from (for error messages).
    public var file: String
    public var header: [String]
    /// Data rows; every row has `header.count` fields.
    public var rows: [[String]]

    public init(file: String, header: [String], rows: [[String]]) {
        self.file = file
        self.header = header
        self.rows = rows
    }

    /// Reads and parses the file at `path` (gzip-compressed files are decompressed).
    public static func read(_ path: String, separator: Character = ",") throws -> CSVTable {
        let data = try Gzip.contents(of: path)
        guard let text = String(data: data, encoding: .utf8) else {
            throw InputError(file: path, "not UTF-8 text")
        }
        return try parse(text, file: path, separator: separator)
    }

    /// Parses CSV text; `file` names the source in errors.
    public static func parse(_ text: String, file: String, separator: Character = ",") throws -> CSVTable {
        var records: [[String]] = []
        var field = ""
        var record: [String] = []
        var inQuotes = false
        var iterator = text.makeIterator()
        var pending: Character? = nil
        func nextCharacter() -> Character? {
            if let p = pending { pending = nil; return p }
            return iterator.next()
        }
        while let c = nextCharacter() {
            if inQuotes {
                if c == "\"" {
                    if let following = nextCharacter() {
                        if following == "\"" { field.append("\"") } else { inQuotes = false; pending = following }
                    } else { inQuotes = false }
                } else { field.append(c) }
            } else if c == "\"" && field.isEmpty {
                inQuotes = true
            } else if c == separator {
                record.append(field); field = ""
            } else if c == "\n" || c == "\r\n" || c == "\r" {
                record.append(field); field = ""
                if !(record.count == 1 && record[0].isEmpty) { records.append(record) }
                record = []
            } else {
                field.append(c)
            }
        }
        if inQuotes { throw InputError(file: file, location: "row \(records.count)", "a quoted field is never closed") }
        if !field.isEmpty || !record.isEmpty { record.append(field); records.append(record) }
        guard let header = records.first else { throw InputError(file: file, "the file is empty; expected a header row") }
        let trimmedHeader = header.map { $0.trimmingCharacters(in: .whitespaces) }
        var rows: [[String]] = []
        rows.reserveCapacity(records.count - 1)
        for (i, row) in records.dropFirst().enumerated() {
            guard row.count == header.count else {
                throw InputError(file: file, location: "row \(i + 1)", "expected \(header.count) fields as in the header, found \(row.count)")
            }
            rows.append(row)
        }
        return CSVTable(file: file, header: trimmedHeader, rows: rows)
    }

    /// The index of column `name`, or an error naming the columns that exist.
    /// The index of the column named `name`; an error when there is none (with a hint when the file seems to use
    /// another separator) or more than one.
    public func column(_ name: String) throws -> Int {
        guard let index = header.firstIndex(of: name) else {
            let other = header.count == 1 ? [";", "\t", "|"].first { header[0].contains($0) } : nil
            throw InputError(file: file, location: "header", "expected a column named '\(name)', found \(header.joined(separator: ","))"
                             + (other.map { " (the header holds '\($0 == "\t" ? "\\t" : $0)': is the file separated by it rather than by commas?)" } ?? ""))
        }
        guard header.lastIndex(of: name) == index else {
            throw InputError(file: file, location: "header", "the column '\(name)' appears more than once; rename one of them")
        }
        return index
    }

    /// The value at `row` (0-based data row) of column `column` as a number; errors name row and column
    /// (rows are counted from 1 = the first data row).
    public func number(row: Int, column: Int) throws -> Double {
        let text = rows[row][column].trimmingCharacters(in: .whitespaces)
        switch text.lowercased() {
        case "nan": return .nan
        case "inf", "+inf", "infinity": return .infinity
        case "-inf", "-infinity": return -.infinity
        default: break
        }
        guard let value = Double(text) else {
            throw InputError(file: file, location: "row \(row + 1), column \(header[column])", "expected a number, found \"\(text)\"")
        }
        return value
    }

    /// A field quoted for CSV if it contains a separator, quote or line break.
    public static func quoted(_ s: String) -> String {
        s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
    }

    /// A number as written in IonLink's tables: shortest round-trip digits, `NaN`, `inf`, `-inf` (pandas reads all).
    public static func formatNumber(_ x: Double) -> String {
        if x.isNaN { return "NaN" }
        if x.isInfinite { return x > 0 ? "inf" : "-inf" }
        return "\(x)"
    }

    /// Formats a table as CSV text (fields with separators or quotes are quoted).
    public static func format(header: [String], rows: [[String]]) -> String {
        var out = header.map(quoted).joined(separator: ",") + "\n"
        for row in rows { out += row.map(quoted).joined(separator: ",") + "\n" }
        return out
    }
}
