import Testing

extension Tag {
    /// Tests that take more than about ten seconds in a debug build (training to convergence, whole runs, MPI
    /// launches). `swift test --skip tag:slow` leaves them out for a quick loop; CI runs everything.
    @Tag public static var slow: Self
}
