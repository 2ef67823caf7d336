/// IonLink's version, written into every file format it produces.
public enum IonLinkVersion {
    public static let current = "0.1.0"
}
