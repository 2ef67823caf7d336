import Foundation
import IonLinkCore
import IonLinkPatchSeq
import IonLinkTestSupport
import Testing

@Suite struct PatchSeqDatasetTests {
    static let data = Golden.repository + "/data/m1"
    static let fixtures = Golden.repository + "/Tests/IonLinkRegressionTests/Fixtures"

    @Test("Cell ids normalise across the tables' spellings")
    func cellIDs() {
        #expect(CellID.normalized("20180918sample1") == "20180918_sample_1")
        #expect(CellID.normalized("20180918_sample_01") == "20180918_sample_1")
        #expect(CellID.normalized(" 20180918_Sample_12 ") == "20180918_sample_12")
        #expect(CellID.normalized("cellA") == "cellA")
    }

    @Test("Shipped data: 942 of 955 fitted cells joined, 59 genes, X and Y equal the Python reference's")
    func shippedData() throws {
        let responses = try ResponseTable.read(Self.data + "/npe_n_map_parameters.csv.gz")
        let counts = try GeneCounts.read(Self.data + "/gene_counts.csv.gz", knownCells: Set(responses.cells))
        #expect(counts.cells.count == 1213 && counts.genes.count == 1000)
        let dataset = try PatchSeqDataset.join(counts: counts, responses: responses,
                                               preprocessing: GenePreprocessing(geneList: GeneSets.ionChannels))
        #expect(dataset.report.matched == 942)
        #expect(dataset.report.onlyInResponses.count == 13)
        let genes = try String(contentsOfFile: Self.fixtures + "/genes.txt", encoding: .utf8).split(separator: "\n").map(String.init)
        #expect(dataset.genes == genes)
        let x = try NPYArray.read(Self.fixtures + "/X.npy").values, y = try NPYArray.read(Self.fixtures + "/Y.npy").values
        #expect(zip(dataset.x.values, x).map { abs($0 - $1) }.max()! < 1e-9)
        #expect(zip(dataset.y.values, y).map { abs($0 - $1) }.max()! < 1e-9)
    }

    @Test("The embedded GO list equals the shipped file")
    func geneList() throws {
        #expect(try GenePreprocessing.readGeneList(Self.data + "/ion_channel_gene_symbols_GO.txt") == GeneSets.ionChannels)
        #expect(GeneSets.ionChannels.count == 434)
    }

    @Test("Bad input: duplicated ids, no overlap, non-numeric counts, constant outputs are clear errors")
    func badInput() throws {
        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        func write(_ name: String, _ text: String) -> String {
            let path = folder + "/" + name
            _ = FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
            return path
        }
        let counts = write("counts.csv", "gene,c1,c2,c3,c4\nPvalb,10,0,5,3\nVip,0,20,1,9\n")
        let table = try GeneCounts.read(counts)
        let preprocessing = GenePreprocessing(geneList: nil, minimumTotalCounts: 1)
        let duplicated = try ResponseTable.read(write("dup.csv", "cell_id,a\nc1,1\nc1,2\nc2,3\n"))
        #expect { try PatchSeqDataset.join(counts: table, responses: duplicated, preprocessing: preprocessing) } throws: { "\($0)".contains("appears twice") }
        let disjoint = try ResponseTable.read(write("none.csv", "cell_id,a\nx1,1\nx2,2\nx3,3\n"))
        #expect { try PatchSeqDataset.join(counts: table, responses: disjoint, preprocessing: preprocessing) } throws: { "\($0)".contains("only 0 cells match") }
        let constant = try ResponseTable.read(write("const.csv", "cell_id,a\nc1,1\nc2,1\nc3,1\nc4,1\n"))
        #expect { try PatchSeqDataset.join(counts: table, responses: constant, preprocessing: preprocessing) } throws: { "\($0)".contains("same value") }
        #expect { try GeneCounts.read(write("bad.csv", "gene,c1,c2\nPvalb,1,x\n")) } throws: { "\($0)".contains("row 1, column c2") }
        let missing = try ResponseTable.read(write("nan.csv", "cell_id,a\nc1,1\nc2,NaN\nc3,3\nc4,5\n"))
        let joined = try PatchSeqDataset.join(counts: table, responses: missing, preprocessing: preprocessing)
        #expect(joined.report.droppedForMissingValues == ["c2"] && joined.report.matched == 3)
        // A negative count is an error naming the cell and gene, not a gene dropped quietly.
        let negative = try GeneCounts.read(write("negative.csv", "gene,c1,c2,c3,c4\nPvalb,10,-1,5,3\nVip,0,20,1,9\n"))
        let responses = try ResponseTable.read(write("r.csv", "cell_id,a\nc1,1\nc2,2\nc3,3\nc4,5\n"))
        #expect { try PatchSeqDataset.join(counts: negative, responses: responses, preprocessing: preprocessing) } throws: {
            "\($0)".contains("cell c2, gene Pvalb") && "\($0)".contains("count ≥ 0")
        }
        // Genes with the same expression in every cell leave nothing to regress on: an error, not a 0-gene model.
        let flat = try GeneCounts.read(write("flat.csv", "gene,c1,c2,c3,c4\nPvalb,5,5,5,5\nVip,2,2,2,2\n"))
        #expect { try PatchSeqDataset.join(counts: flat, responses: responses, preprocessing: preprocessing) } throws: {
            "\($0)".contains("nothing to regress on")
        }
    }
}

@Suite struct AnnDataTests {
    @Test("AnnData .h5ad with CSR and dense X: the same counts, obs and var names", arguments: ["counts_csr.h5ad", "counts_dense.h5ad"])
    func read(name: String) throws {
        let table = try GeneCounts.read(Golden.repository + "/Tests/IonLinkPatchSeqTests/Fixtures/" + name)
        #expect(table.cells == ["20180918_sample_1", "20180918_sample_2", "20180918_sample_3", "20180918_sample_4"])
        #expect(table.genes == ["Pvalb", "Vip", "Sst"])
        #expect(table.counts.values == [1, 0, 3, 0, 5, 0, 7, 0, 9, 2, 4, 0])
    }

    @Test("A damaged CSR h5ad found by the fuzzer (FuzzH5AD: it trapped in the sparse loop) is an error naming the file and place")
    func fuzzedSparse() throws {
        let path = Golden.repository + "/Tests/IonLinkPatchSeqTests/Fixtures/fuzz_crash_indptr.h5ad"
        #expect { try AnnData.read(path) } throws: { error in
            let text = "\(error)"
            return text.contains("fuzz_crash_indptr.h5ad") && (text.contains("indptr") || text.contains("indices") || text.contains("sparse"))
        }
    }

    @Test("An h5ad whose string dataset claims an impossible count (found by FuzzH5AD: it asked for 0x18…0 bytes) is an error, not an allocation")
    func fuzzedStringCount() throws {
        let path = Golden.repository + "/Tests/IonLinkPatchSeqTests/Fixtures/fuzz_crash_string_count.h5ad"
        #expect { try AnnData.read(path) } throws: { error in
            let text = "\(error)"
            return text.contains("fuzz_crash_string_count.h5ad") && text.contains("the file is damaged")
        }
    }

    @Test("A 12.8 kB h5ad whose indptr claims 810 745 855 values (found by FuzzH5AD: 20 s and 6 GB to fill them) is refused at once")
    func fuzzedDatasetShape() throws {
        let path = Golden.repository + "/Tests/IonLinkPatchSeqTests/Fixtures/fuzz_slow_indptr_shape.h5ad"
        #expect { try AnnData.read(path) } throws: { error in
            let text = "\(error)"
            return text.contains("fuzz_slow_indptr_shape.h5ad") && text.contains("indptr") && text.contains("cannot fit in a file of 12800 bytes")
        }
    }
}
