import IonLinkCore
import Testing

@Suite struct CSVTableTests {
    @Test("Quoted fields, CRLF line ends and a missing final newline")
    func parsing() throws {
        let table = try CSVTable.parse("id,name,x\r\n1,\"a, b\",2.5\r\n2,\"say \"\"hi\"\"\",-3", file: "t.csv")
        #expect(table.header == ["id", "name", "x"])
        #expect(table.rows == [["1", "a, b", "2.5"], ["2", "say \"hi\"", "-3"]])
        #expect(try table.number(row: 1, column: 2) == -3)
    }

    @Test("Errors name the file, row and column")
    func errors() throws {
        let table = try CSVTable.parse("id,gKd\na,n/a\n", file: "params.csv")
        #expect { try table.number(row: 0, column: 1) } throws: {
            "\($0)" == "params.csv (row 1, column gKd): expected a number, found \"n/a\""
        }
        #expect { try CSVTable.parse("a,b\n1,2,3\n", file: "x.csv") } throws: { "\($0)".contains("x.csv (row 1)") }
        #expect { try CSVTable.parse("", file: "e.csv") } throws: { "\($0)".contains("empty") }
        #expect { try CSVTable.parse("a\n\"open", file: "q.csv") } throws: { "\($0)".contains("never closed") }
    }

    @Test("A column asked for by name must be there once; a semicolon-separated file is named as such")
    func columnsByName() throws {
        let twice = try CSVTable.parse("id,gKd,gKd\na,1,2\n", file: "p.csv")
        #expect { try twice.column("gKd") } throws: { "\($0)".contains("'gKd' appears more than once") }
        let semicolons = try CSVTable.parse("id;gKd\na;1\n", file: "s.csv")
        #expect { try semicolons.column("gKd") } throws: { "\($0)".contains("separated by it rather than by commas") && "\($0)".contains("';'") }
        #expect(try twice.column("id") == 0)
    }
}
