// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "IonLink",
    products: [
        .executable(name: "ionlink", targets: ["IonLinkCLI"]),
        .library(name: "IonLink", targets: ["IonLinkCore", "IonLinkBiophysics"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        // MARK: - C kernels
        /// The fused Hodgkin–Huxley batch kernel (C, `target_clones` for AVX-512 / AVX2 / baseline x86-64).
        .target(name: "CHHKernel"),

        // MARK: - Library modules
        .target(name: "IonLinkCore"),
        .target(name: "IonLinkBiophysics", dependencies: ["IonLinkCore", "CHHKernel"]),

        // MARK: - Command-line tool
        .executableTarget(
            name: "IonLinkCLI",
            dependencies: [
                "IonLinkCore", "IonLinkBiophysics",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        // MARK: - Tests
        .testTarget(name: "IonLinkCoreTests", dependencies: ["IonLinkCore"]),
        .testTarget(
            name: "IonLinkBiophysicsTests",
            dependencies: ["IonLinkBiophysics", "IonLinkCore", "CHHKernel"],
            resources: [.copy("Golden")]
        ),
        .testTarget(name: "IonLinkCLITests", dependencies: ["IonLinkCLI"]),
    ]
)
