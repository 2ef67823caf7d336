/// A fixed-size buffer that worker threads fill, each writing only its own slots (see `parallelFor`): results then
/// never depend on the thread count. Reading while writers run is not allowed.
public final class SlotBuffer<Element>: @unchecked Sendable {
    private let storage: UnsafeMutableBufferPointer<Element>

    public init(count: Int, repeating value: Element) {
        storage = .allocate(capacity: max(1, count))
        storage.initialize(repeating: value)
        self.count = count
    }

    public let count: Int

    public subscript(index: Int) -> Element {
        get { storage[index] }
        set { storage[index] = newValue }
    }

    /// Writes `values` into the slots starting at `offset`.
    public func write(_ values: some Collection<Element>, at offset: Int) {
        var i = offset
        for v in values { storage[i] = v; i += 1 }
    }

    /// Base address of the slots (for C kernels writing into them).
    public var baseAddress: UnsafeMutablePointer<Element> { storage.baseAddress! }

    /// The slots' values, in order.
    public var array: [Element] { Array(storage.prefix(count)) }

    deinit {
        storage.deinitialize()
        storage.deallocate()
    }
}
