import CHDF5
import Foundation

/// A read-only HDF5 file (libhdf5): groups, numeric datasets and attributes, with errors that name the
/// file and the object. HDF5's own error stack is silenced (set `IONLINK_HDF5_ERRORS=1` to see it).
public final class HDF5File {
    public let path: String
    private let id: hid_t

    /// The libhdf5 version this build links, e.g. "1.10.8".
    public static var libraryVersion: String {
        var major: UInt32 = 0, minor: UInt32 = 0, release: UInt32 = 0
        H5get_libversion(&major, &minor, &release)
        return "\(major).\(minor).\(release)"
    }

    public init(path: String) throws {
        self.path = path
        if ProcessInfo.processInfo.environment["IONLINK_HDF5_ERRORS"] == nil {
            H5Eset_auto2(ionlink_h5e_default(), nil, nil)
        }
        guard FileManager.default.fileExists(atPath: path) else { throw InputError(file: path, "no such file") }
        guard H5Fis_hdf5(path) > 0 else {
            throw InputError(file: path, "not an HDF5 file (NWB and .h5ad files are HDF5), or it is truncated")
        }
        let handle = H5Fopen(path, ionlink_h5f_acc_rdonly(), ionlink_h5p_default())
        guard handle >= 0 else {
            throw InputError(file: path, "libhdf5 \(Self.libraryVersion) cannot open this HDF5 file; it may be damaged or written by a newer HDF5 version (re-save it with h5py's default libver='earliest' or `h5repack`)")
        }
        id = handle
    }

    deinit { H5Fclose(id) }

    /// Whether an object (group or dataset) exists at `path`.
    public func exists(_ objectPath: String) -> Bool {
        var prefix = ""
        for part in objectPath.split(separator: "/") {
            prefix += "/" + part
            if H5Lexists(id, prefix, ionlink_h5p_default()) <= 0 { return false }
        }
        return true
    }

    /// Whether `path` is a group.
    public func isGroup(_ objectPath: String) -> Bool {
        guard exists(objectPath) else { return false }
        let object = H5Oopen(id, objectPath, ionlink_h5p_default())
        guard object >= 0 else { return false }
        defer { H5Oclose(object) }
        return H5Iget_type(object) == H5I_GROUP
    }

    /// Names of the members of the group at `path`, sorted.
    public func members(of groupPath: String) throws -> [String] {
        let group = H5Gopen2(id, groupPath, ionlink_h5p_default())
        guard group >= 0 else { throw InputError(file: path, location: groupPath, "expected a group") }
        defer { H5Gclose(group) }
        var info = H5G_info_t()
        guard H5Gget_info(group, &info) >= 0 else { throw InputError(file: path, location: groupPath, "cannot list the group") }
        var names: [String] = []
        for i in 0..<info.nlinks {
            let size = H5Lget_name_by_idx(group, ".", H5_INDEX_NAME, H5_ITER_INC, i, nil, 0, ionlink_h5p_default())
            guard size >= 0 else { continue }
            var buffer = [CChar](repeating: 0, count: Int(size) + 1)
            H5Lget_name_by_idx(group, ".", H5_INDEX_NAME, H5_ITER_INC, i, &buffer, Int(size) + 1, ionlink_h5p_default())
            names.append(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return names.sorted()
    }

    /// The most values a dataset may hold to be read (2³¹, 16 GiB of doubles).
    public static let largestDataset = 1 << 31
    /// The most a stored byte can expand to when read: deflate's limit (1032:1), the one compression libhdf5 reads by itself.
    public static let largestExpansion = 1032
    /// Values a dataset may always hold, whatever the file's size (a dataset of fill values takes no storage).
    public static let smallDataset = 1 << 20
    /// The most strings a string dataset may hold (cell ids, gene names): far beyond any real table.
    public static let largestStringDataset = 1 << 26

    /// Reads a compound dataset of (idx_start, count, object reference) rows, NWB's `TimeSeriesReferenceVectorData`
    /// (the `stimulus` and `response` columns of an `IntracellularRecordingsTable`): per row the first sample, the
    /// number of samples (−1: all) and the path of the referenced series.
    public func readSeriesReferences(_ datasetPath: String) throws -> [(start: Int, count: Int, series: String?)] {
        let dataset = H5Dopen2(id, datasetPath, ionlink_h5p_default())
        guard dataset >= 0 else { throw InputError(file: path, location: datasetPath, "missing dataset") }
        defer { H5Dclose(dataset) }
        let space = H5Dget_space(dataset)
        defer { H5Sclose(space) }
        guard H5Sget_simple_extent_ndims(space) == 1 else { throw InputError(file: path, location: datasetPath, "expected one row per recording") }
        var rows: hsize_t = 0
        H5Sget_simple_extent_dims(space, &rows, nil)
        guard rows <= 1 << 20 else { throw InputError(file: path, location: datasetPath, "\(rows) rows: the file is damaged") }
        struct Row { var start: Int32 = 0; var count: Int32 = 0; var reference: hobj_ref_t = 0 }
        let memory = H5Tcreate(H5T_COMPOUND, MemoryLayout<Row>.stride)
        defer { H5Tclose(memory) }
        H5Tinsert(memory, "idx_start", MemoryLayout<Row>.offset(of: \Row.start)!, ionlink_h5t_native_int32())
        H5Tinsert(memory, "count", MemoryLayout<Row>.offset(of: \Row.count)!, ionlink_h5t_native_int32())
        H5Tinsert(memory, "timeseries", MemoryLayout<Row>.offset(of: \Row.reference)!, ionlink_h5t_std_ref_obj())
        var buffer = [Row](repeating: Row(), count: Int(rows))
        guard rows == 0 || H5Dread(dataset, memory, ionlink_h5s_all(), ionlink_h5s_all(), ionlink_h5p_default(), &buffer) >= 0 else {
            throw InputError(file: path, location: datasetPath, "expected rows of (idx_start, count, timeseries reference)")
        }
        return buffer.map { row in
            var reference = row.reference
            let length = ionlink_h5_reference_name(dataset, &reference, nil, 0)
            guard length > 0, length < 4096 else { return (Int(row.start), Int(row.count), nil) }
            var name = [CChar](repeating: 0, count: length + 1)
            _ = ionlink_h5_reference_name(dataset, &reference, &name, length + 1)
            return (Int(row.start), Int(row.count), String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
    }

    /// Reads a numeric dataset (any integer or float type) as doubles; returns the values and the shape.
    public func readDoubles(_ datasetPath: String) throws -> (values: [Double], shape: [Int]) {
        let dataset = H5Dopen2(id, datasetPath, ionlink_h5p_default())
        guard dataset >= 0 else {
            throw InputError(file: path, location: datasetPath, exists(datasetPath)
                ? "libhdf5 \(Self.libraryVersion) cannot open this dataset; the file may have been written by a newer HDF5 version (re-save it with h5py's default libver='earliest')"
                : "missing dataset")
        }
        defer { H5Dclose(dataset) }
        let space = H5Dget_space(dataset)
        defer { H5Sclose(space) }
        let rank = Int(H5Sget_simple_extent_ndims(space))
        guard rank >= 0 else { throw InputError(file: path, location: datasetPath, "cannot read the dataset's shape") }
        var dims = [hsize_t](repeating: 0, count: max(rank, 1))
        H5Sget_simple_extent_dims(space, &dims, nil)
        let shape = rank == 0 ? [] : dims.prefix(rank).map { Int(clamping: $0) }
        // A damaged header can claim any shape: refuse what no real series holds rather than trap or allocate terabytes.
        var count = 1
        for extent in shape {
            let (product, overflow) = count.multipliedReportingOverflow(by: extent)
            guard !overflow, product <= Self.largestDataset else {
                throw InputError(file: path, location: datasetPath, "a dataset of shape \(shape) is larger than IonLink reads (\(Self.largestDataset) values); the file is damaged")
            }
            count = product
        }
        let type = H5Dget_type(dataset)
        let elementBytes = type >= 0 ? H5Tget_size(type) : 1
        if type >= 0 { H5Tclose(type) }
        try checkFits(count: count, elementBytes: elementBytes, location: datasetPath, what: "a dataset of shape \(shape)")
        var values = [Double](repeating: .nan, count: count)
        if count > 0 {
            let status = values.withUnsafeMutableBytes {
                H5Dread(dataset, ionlink_h5t_native_double(), ionlink_h5s_all(), ionlink_h5s_all(), ionlink_h5p_default(), $0.baseAddress)
            }
            guard status >= 0 else {
                throw InputError(file: path, location: datasetPath, "cannot read the values as numbers (not numeric, damaged, or written by a newer HDF5 than libhdf5 \(Self.libraryVersion) reads)")
            }
        }
        return (values, shape)
    }

    /// A string dataset or attribute holder: reads a string dataset (fixed or variable length), one string per element.
    public func readStrings(_ datasetPath: String) throws -> [String] {
        let dataset = H5Dopen2(id, datasetPath, ionlink_h5p_default())
        guard dataset >= 0 else { throw InputError(file: path, location: datasetPath, "missing dataset") }
        defer { H5Dclose(dataset) }
        let type = H5Dget_type(dataset)
        defer { H5Tclose(type) }
        guard H5Tget_class(type) == H5T_STRING else { throw InputError(file: path, location: datasetPath, "expected strings") }
        let space = H5Dget_space(dataset)
        defer { H5Sclose(space) }
        let count = Int(H5Sget_simple_extent_npoints(space))
        // A damaged header can claim any number of strings (FuzzH5AD: 0x18…0 bytes asked of the allocator).
        guard count >= 0, count <= Self.largestStringDataset else {
            throw InputError(file: path, location: datasetPath, "a string dataset of \(count) entries is more than IonLink reads (\(Self.largestStringDataset)); the file is damaged")
        }
        try checkFits(count: count, elementBytes: H5Tget_size(type), location: datasetPath, what: "a string dataset of \(count) entries")
        if H5Tis_variable_str(type) > 0 {
            let memory = H5Tcopy(ionlink_h5t_c_s1())
            defer { H5Tclose(memory) }
            H5Tset_size(memory, ionlink_h5t_variable())
            H5Tset_cset(memory, H5Tget_cset(type))
            var pointers = [UnsafeMutablePointer<CChar>?](repeating: nil, count: count)
            guard H5Dread(dataset, memory, ionlink_h5s_all(), ionlink_h5s_all(), ionlink_h5p_default(), &pointers) >= 0 else {
                throw InputError(file: path, location: datasetPath, "cannot read the strings")
            }
            defer { H5Dvlen_reclaim(memory, space, ionlink_h5p_default(), &pointers) }
            return pointers.map { $0.map { String(cString: $0) } ?? "" }
        }
        let size = H5Tget_size(type)
        let (bytes, overflow) = count.multipliedReportingOverflow(by: size)
        guard size > 0, !overflow, bytes <= Self.largestDataset else {
            throw InputError(file: path, location: datasetPath, "\(count) strings of \(size) bytes are more than IonLink reads; the file is damaged")
        }
        var buffer = [UInt8](repeating: 0, count: bytes)
        guard H5Dread(dataset, type, ionlink_h5s_all(), ionlink_h5s_all(), ionlink_h5p_default(), &buffer) >= 0 else {
            throw InputError(file: path, location: datasetPath, "cannot read the strings")
        }
        return (0..<count).map { i in
            String(decoding: buffer[i * size ..< (i + 1) * size].prefix { $0 != 0 }, as: UTF8.self)
        }
    }

    /// A string attribute of the object at `objectPath`, or nil if absent.
    public func stringAttribute(_ objectPath: String, _ name: String) -> String? {
        guard let attribute = openAttribute(objectPath, name) else { return nil }
        defer { H5Aclose(attribute) }
        let type = H5Aget_type(attribute)
        defer { H5Tclose(type) }
        guard H5Tget_class(type) == H5T_STRING else { return nil }
        if H5Tis_variable_str(type) > 0 {
            let memory = H5Tcopy(ionlink_h5t_c_s1())
            defer { H5Tclose(memory) }
            H5Tset_size(memory, ionlink_h5t_variable())
            H5Tset_cset(memory, H5Tget_cset(type))
            var pointer: UnsafeMutablePointer<CChar>? = nil
            guard H5Aread(attribute, memory, &pointer) >= 0, let pointer else { return nil }
            defer { H5free_memory(pointer) }
            return String(cString: pointer)
        }
        let size = H5Tget_size(type)
        var buffer = [UInt8](repeating: 0, count: size + 1)
        guard H5Aread(attribute, type, &buffer) >= 0 else { return nil }
        return String(decoding: buffer.prefix { $0 != 0 }, as: UTF8.self)
    }

    /// A numeric scalar attribute as a double, or nil if absent or not numeric.
    public func numberAttribute(_ objectPath: String, _ name: String) -> Double? {
        guard let attribute = openAttribute(objectPath, name) else { return nil }
        defer { H5Aclose(attribute) }
        let type = H5Aget_type(attribute)
        defer { H5Tclose(type) }
        let typeClass = H5Tget_class(type)
        guard typeClass == H5T_INTEGER || typeClass == H5T_FLOAT else { return nil }
        let space = H5Aget_space(attribute)
        defer { H5Sclose(space) }
        let count = max(1, Int(H5Sget_simple_extent_npoints(space)))
        guard (try? checkFits(count: count, elementBytes: H5Tget_size(type), location: objectPath, what: name)) != nil else { return nil }
        var values = [Double](repeating: .nan, count: count)
        guard H5Aread(attribute, ionlink_h5t_native_double(), &values) >= 0 else { return nil }
        return values[0]
    }

    /// Refuses a dataset that claims more values than the file can hold: its bytes, expanded at most
    /// `largestExpansion`× (deflate's limit), `elementBytes` per value; up to `smallDataset` values always pass (a
    /// dataset of fill values takes no storage). A damaged header can claim any shape (FuzzH5AD: a 12.8 kB file whose
    /// indptr claimed 810 745 855 values took 20 s and 6 GB to fill).
    private func checkFits(count: Int, elementBytes: Int, location: String, what: String) throws {
        var fileBytes: hsize_t = 0
        H5Fget_filesize(id, &fileBytes)
        let (expanded, overflow) = Int(clamping: fileBytes).multipliedReportingOverflow(by: Self.largestExpansion)
        let holdable = overflow ? Int.max : expanded / max(1, elementBytes)
        guard count <= max(Self.smallDataset, holdable) else {
            throw InputError(file: path, location: location, "\(what) (\(count) values of \(elementBytes) bytes) cannot fit in a file of \(fileBytes) bytes; the file is damaged")
        }
    }

    private func openAttribute(_ objectPath: String, _ name: String) -> hid_t? {
        guard exists(objectPath) || objectPath == "/" else { return nil }
        guard H5Aexists_by_name(id, objectPath, name, ionlink_h5p_default()) > 0 else { return nil }
        let attribute = H5Aopen_by_name(id, objectPath, name, ionlink_h5p_default(), ionlink_h5p_default())
        return attribute >= 0 ? attribute : nil
    }
}
