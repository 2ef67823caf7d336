import Testing

extension Tag {
    /// Tests that take more than about ten seconds in a debug build (training to convergence, whole runs, MPI
    /// launches). Where `swift test` has Swift Testing's `tag:` filter, `--skip tag:slow` leaves them out of a quick
    /// loop (README, Layout); CI runs everything.
    @Tag public static var slow: Self
}
