// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "IonLink",
    products: [
        .executable(name: "ionlink", targets: ["IonLinkCLI"]),
        .library(name: "IonLink", targets: ["IonLink"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        // MARK: - System libraries
        .systemLibrary(name: "CBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev", "liblapacke-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CHDF5", pkgConfig: "hdf5", providers: [.apt(["libhdf5-dev"])]),
        .systemLibrary(name: "CCairo", pkgConfig: "cairo", providers: [.apt(["libcairo2-dev", "fonts-dejavu-core"])]),
        .systemLibrary(name: "CMPI", pkgConfig: "ompi-c", providers: [.apt(["libopenmpi-dev", "openmpi-bin"])]),

        // MARK: - C kernels
        /// The fused Hodgkin–Huxley batch kernel (C, `target_clones` for AVX-512 / AVX2 / baseline x86-64).
        .target(name: "CHHKernel"),
        /// Batched zero-phase filtering and differentiation of voltage traces (C, SIMD across traces).
        .target(name: "CSignalKernel"),
        /// Vectorised elementary functions (tanh) for the flows.
        .target(name: "CMathKernel"),

        // MARK: - Library modules
        .target(name: "IonLinkCore", dependencies: ["CHDF5", "CZlib", "CBLAS", "CMPI"]),
        .target(name: "IonLinkBiophysics", dependencies: ["IonLinkCore", "CHHKernel"]),
        .target(name: "IonLinkElectrophysiology", dependencies: ["IonLinkCore", "IonLinkBiophysics", "CSignalKernel"]),
        .target(name: "IonLinkInference", dependencies: ["IonLinkCore", "CMathKernel"]),
        .target(name: "IonLinkRegression", dependencies: ["IonLinkCore"]),
        .target(name: "IonLinkPatchSeq", dependencies: ["IonLinkCore", "IonLinkRegression"]),
        .target(name: "IonLinkReport", dependencies: ["IonLinkCore", "IonLinkElectrophysiology", "IonLinkRegression", "IonLinkPatchSeq", "CCairo"]),
        /// The analysis as typed stages with caching and resume (what `ionlink run` calls).
        .target(name: "IonLinkPipeline", dependencies: ["IonLinkCore", "IonLinkBiophysics", "IonLinkElectrophysiology", "IonLinkInference",
                                                        "IonLinkRegression", "IonLinkPatchSeq", "IonLinkReport"]),
        /// The umbrella module: `import IonLink` brings every public API.
        .target(name: "IonLink", dependencies: ["IonLinkCore", "IonLinkBiophysics", "IonLinkElectrophysiology", "IonLinkInference",
                                                "IonLinkRegression", "IonLinkPatchSeq", "IonLinkReport", "IonLinkPipeline"]),

        // MARK: - Command-line tool
        .executableTarget(
            name: "IonLinkCLI",
            dependencies: [
                "IonLinkCore", "IonLinkBiophysics", "IonLinkElectrophysiology", "IonLinkInference", "IonLinkRegression",
                "IonLinkPatchSeq", "IonLinkReport", "IonLinkPipeline", "CSignalKernel",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        // MARK: - Test support
        /// Golden reference files and helpers shared by the test targets.
        .target(name: "IonLinkTestSupport", dependencies: ["IonLinkCore"], resources: [.copy("Golden")]),

        // MARK: - Tests
        .testTarget(name: "IonLinkCoreTests", dependencies: ["IonLinkCore"]),
        .testTarget(name: "IonLinkBiophysicsTests", dependencies: ["IonLinkBiophysics", "IonLinkCore", "IonLinkTestSupport"]),
        .testTarget(
            name: "IonLinkElectrophysiologyTests",
            dependencies: ["IonLinkElectrophysiology", "IonLinkCore", "IonLinkTestSupport"],
            exclude: ["Fixtures"]  // read from the checkout by path (Golden.repository), not bundled
        ),
        .testTarget(name: "IonLinkInferenceTests", dependencies: ["IonLinkInference", "IonLinkCore", "CMathKernel", "IonLinkTestSupport"],
                    exclude: ["Fixtures"]),
        .testTarget(name: "IonLinkRegressionTests", dependencies: ["IonLinkRegression", "IonLinkCore", "IonLinkTestSupport"],
                    exclude: ["Fixtures"]),
        .testTarget(name: "IonLinkPatchSeqTests", dependencies: ["IonLinkPatchSeq", "IonLinkRegression", "IonLinkCore", "IonLinkTestSupport"],
                    exclude: ["Fixtures"]),
        .testTarget(name: "IonLinkReportTests", dependencies: ["IonLinkReport", "IonLinkElectrophysiology", "IonLinkTestSupport", "CCairo"]),
        .testTarget(name: "IonLinkPipelineTests", dependencies: ["IonLinkPipeline", "IonLink", "IonLinkTestSupport"]),
        .testTarget(name: "IonLinkCLITests", dependencies: ["IonLinkCLI", "IonLinkCore", "IonLinkTestSupport"]),
    ]
)
