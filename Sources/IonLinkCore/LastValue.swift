import Foundation

/// A one-entry, thread-safe memo: keeps the value computed for the last key asked for, so that callers asking again and
/// again for the same key (e.g. each block of a bank) compute it once.
public final class LastValue<Key: Equatable & Sendable, Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var entry: (key: Key, value: Value)?

    public init() {}

    /// The value for `key`: the kept one if `key` was the last asked for, else `make()`, kept from then on.
    public func value(for key: Key, make: () -> Value) -> Value {
        lock.lock()
        if let entry, entry.key == key { lock.unlock(); return entry.value }
        lock.unlock()
        let value = make()
        lock.lock()
        entry = (key, value)
        lock.unlock()
        return value
    }
}
