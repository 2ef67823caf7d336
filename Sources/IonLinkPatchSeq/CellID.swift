/// Cell identifiers as Patch-seq tables write them, normalised so that tables join:
/// `20180918sample1`, `20180918_sample_1` and `20180918_Sample_01` all become `20180918_sample_1`.
/// Ids of other shapes are kept as written (trimmed).
public enum CellID {
    public static func normalized(_ id: String) -> String {
        let trimmed = id.trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
        let lower = trimmed.lowercased()
        guard let range = lower.range(of: "sample") else { return trimmed }
        let date = lower[..<range.lowerBound].filter { $0 != "_" }
        let number = lower[range.upperBound...].filter { $0 != "_" }
        guard date.count == 8, date.allSatisfy(\.isNumber), !number.isEmpty, number.allSatisfy(\.isNumber), let n = Int(number) else {
            return trimmed
        }
        return "\(date)_sample_\(n)"
    }
}

import Foundation
