/// An error in input the user can fix: it names the file, the place in it, what was expected and what was found.
///
/// `description` reads like `params.csv (row 12, column gKd): expected a number, found "n/a"`.
public struct InputError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The file (or command-line option) the problem is in.
    public var file: String
    /// Where in the file: `row 12, column gKd`, `header`, `byte 128`; empty when the whole file is meant.
    public var location: String
    /// What was expected and what was found.
    public var message: String

    public init(file: String, location: String = "", _ message: String) {
        self.file = file
        self.location = location
        self.message = message
    }

    public var description: String {
        location.isEmpty ? "\(file): \(message)" : "\(file) (\(location)): \(message)"
    }
}
