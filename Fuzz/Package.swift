// swift-tools-version:6.0
// libFuzzer targets for IonLink's readers of user files. Built and run by Fuzz/run.sh (see Fuzz/README.md); not part of
// the main package, whose normal build has no sanitizers. Each target's main.swift is parsed as a library
// (-parse-as-library) and defines the entry point SwiftPM links an executable to, `<Target>_main`, which hands control
// to libFuzzer's driver.
import PackageDescription

let readers = ["NPY", "ABF", "NWB", "H5AD", "Gzip", "CSV", "Estimator", "BankManifest"]

let package = Package(
    name: "IonLinkFuzz",
    dependencies: [.package(name: "IonLink", path: "..")],
    targets: [
        .target(name: "CFuzzerDriver"),
        .target(name: "FuzzSupport", dependencies: ["CFuzzerDriver", .product(name: "IonLink", package: "IonLink")]),
    ] + readers.map { reader in
        .executableTarget(name: "Fuzz\(reader)", dependencies: ["FuzzSupport", .product(name: "IonLink", package: "IonLink")])
    }
)
