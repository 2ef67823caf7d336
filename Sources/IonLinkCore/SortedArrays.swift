extension RandomAccessCollection where Index == Int {
    /// The first index whose element satisfies `predicate`, for a predicate that is false and then true along the
    /// collection (binary search); `endIndex` if it never holds.
    public func partitioningIndex(where predicate: (Element) -> Bool) -> Int {
        var low = startIndex, high = endIndex
        while low < high {
            let mid = low + (high - low) / 2
            if predicate(self[mid]) { high = mid } else { low = mid + 1 }
        }
        return low
    }
}

extension Array where Element == Double {
    /// The `q`-quantile of an ascending array, linearly interpolated between order statistics (NumPy's default);
    /// NaN when empty.
    public func sortedQuantile(_ q: Double) -> Double {
        guard !isEmpty else { return .nan }
        let position = q * Double(count - 1), below = Int(position.rounded(.down)), above = Swift.min(below + 1, count - 1)
        return self[below] + (position - Double(below)) * (self[above] - self[below])
    }
}
