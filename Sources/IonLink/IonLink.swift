// The umbrella module, as swift-numerics' `Numerics`: `import IonLink` brings the public API of every module.
@_exported import IonLinkBiophysics
@_exported import IonLinkCore
@_exported import IonLinkElectrophysiology
@_exported import IonLinkInference
@_exported import IonLinkPatchSeq
@_exported import IonLinkPipeline
@_exported import IonLinkRegression
@_exported import IonLinkReport
