import Foundation
import IonLinkBiophysics
import IonLinkCore
import Testing

@Suite struct ParameterTableTests {
    func write(_ text: String) -> String {
        let path = Fixtures.temporaryFolder() + "/params.csv"
        _ = FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
        return path
    }

    let header = "id,C,R_input,tau,gNat,gNa,gKd,gM,gKv31,gL,E_leak,tau_max,VT,r_SS\n"
    let good = "a,1,200,10,100,50,10,1,50,1,-70,500,-60,1\n"

    @Test("Reads ids and values in model order, whatever the column order")
    func reads() throws {
        let shuffled = "r_SS,VT,tau_max,E_leak,gL,gKv31,gM,gKd,gNa,gNat,tau,R_input,C,id\n1,-60,500,-70,1,50,1,10,50,100,10,200,1,a\n"
        let table = try ParameterTable.read(write(shuffled), model: .paperM1)
        #expect(table.ids == ["a"])
        #expect(table.values == [1, 200, 10, 100, 50, 10, 1, 50, 1, -70, 500, -60, 1])
        #expect(table.ignoredColumns.isEmpty)
        let extra = try ParameterTable.read(write("id,gKv3,C,R_input,tau,gNat,gNa,gKd,gM,gKv31,gL,E_leak,tau_max,VT,r_SS\na,7,1,200,10,100,50,10,1,50,1,-70,500,-60,1\n"), model: .paperM1)
        #expect(extra.ignoredColumns == ["gKv3"] && extra.values == table.values)
    }

    @Test("A value outside the prior box is an error naming the row and the parameter")
    func outsidePrior() throws {
        let path = write(header + good + "b,1,200,10,100,50,10,1,50,1,-70,500,-20,1\n")
        #expect {
            try ParameterTable.read(path, model: .paperM1)
        } throws: { error in
            let text = "\(error)"
            return text.contains("params.csv") && text.contains("row 2") && text.contains("id b") && text.contains("column VT")
                && text.contains("outside the prior box [-90.0, -35.0]")
        }
    }

    @Test("A non-number, a missing column and a short row are clear errors")
    func malformed() {
        #expect(throws: InputError.self) { try ParameterTable.read(write(header + "a,1,200,10,n/a,50,10,1,50,1,-70,500,-60,1\n"), model: .paperM1) }
        #expect { try ParameterTable.read(write("id,C\na,1\n"), model: .paperM1) } throws: { "\($0)".contains("'R_input'") }
        #expect { try ParameterTable.read(write(header + "a,1,2\n"), model: .paperM1) } throws: { "\($0)".contains("row 1") }
        #expect { try ParameterTable.read(write(header), model: .paperM1) } throws: { "\($0)".contains("no data rows") }
    }
}
