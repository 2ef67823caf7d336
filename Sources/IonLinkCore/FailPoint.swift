import Foundation
import Synchronization

/// Named places where a test can kill the process, to check that a run killed there resumes correctly
/// (the failpoints of FoundationDB and etcd). Off unless the environment sets `IONLINK_KILL_AT=name:N`: the
/// N-th time the process reaches the place `name` it sends itself SIGKILL.
public enum FailPoint {
    private static let target: (name: String, count: Int)? = {
        guard let value = ProcessInfo.processInfo.environment["IONLINK_KILL_AT"] else { return nil }
        let parts = value.split(separator: ":")
        guard parts.count == 2, let count = Int(parts[1]), count >= 1 else { return nil }
        return (String(parts[0]), count)
    }()
    /// Visits of the target place so far.
    private static let visits = Mutex(0)

    /// Marks the place `name`; kills the process if this is the visit the environment names.
    public static func visit(_ name: String) {
        guard let target, target.name == name else { return }
        let visit = visits.withLock { count in
            count += 1
            return count
        }
        if visit == target.count { kill(getpid(), SIGKILL) }
    }
}
