import CEEMSLinux
import CEEMSTestSupport
import Testing

@Suite struct IPMIOutputParserTests {
    // FreeIPMI `ipmi-dcmi --get-system-power-statistics`.
    let freeIPMI = """
        Current Power                        : 412 Watts
        Minimum Power over sampling duration : 120 watts
        Maximum Power over sampling duration : 655 watts
        Average Power over sampling duration : 398 watts
        Time Stamp                           : 03/01/2025 - 10:11:12
        Statistics reporting time period     : 1000 milliseconds
        Power Measurement                    : Active
        """

    let ipmitool = SampleOutputs.ipmitool

    // ipmiutil `dcmi power`.
    let ipmiutil = """
        ipmiutil dcmi ver 3.19
        -- BMC version 2.10, IPMI version 2.0
          Current Power:                   75 Watts
          Min Power over sample duration:  10 Watts
          Max Power over sample duration:  250 Watts
          Avg Power over sample duration:  80 Watts
          Power reading state is:          active
          Power Limit:       900 Watts (inactive)
        ipmiutil dcmi, completed successfully
        """

    @Test func parsesFreeIPMI() {
        #expect(
            IPMIOutputParser.parseText(freeIPMI)
                == IPMIPowerReading(current: 412, minimum: 120, maximum: 655, average: 398))
    }

    @Test func parsesIpmitool() {
        #expect(
            IPMIOutputParser.parseText(ipmitool)
                == IPMIPowerReading(current: 180, minimum: 90, maximum: 310, average: 175))
    }

    @Test func parsesIpmiutil() {
        #expect(
            IPMIOutputParser.parseText(ipmiutil)
                == IPMIPowerReading(current: 75, minimum: 10, maximum: 250, average: 80))
    }

    @Test func inactiveMeasurementGivesNoReading() {
        #expect(IPMIOutputParser.parseText(freeIPMI.replacingActive(with: "Not Available")) == nil)
        #expect(IPMIOutputParser.parseText("Current Power : 10 Watts\n") == nil)
        #expect(IPMIOutputParser.parseText("") == nil)
    }

    @Test func parsesCapmc() {
        let json =
            #"{"start_time":"2025-03-01 10:00:00","avg":5942,"min":5748,"max":6132,"window_len":600,"e":0,"err_msg":""}"#
        #expect(
            IPMIOutputParser.parseCapmc(json)
                == IPMIPowerReading(current: 5942, minimum: 5748, maximum: 6132, average: 5942))
        #expect(IPMIOutputParser.parseCapmc(#"{"e":52,"err_msg":"Invalid nid"}"#) == nil)
        #expect(IPMIOutputParser.parseCapmc("not json") == nil)
        // Found by the fuzzer: a key whose value is cut off at the end of the text.
        #expect(IPMIOutputParser.parseCapmc("{\n\"avg\":5942,\n\"0\",\n\"avg\":\n")?.average == 5942)
    }

    @Test func parsesTheDCMIResponse() {
        // cc, 0xDC, current 300, min 100, max 500, avg 280 (LE), timestamp, period, state 0x40.
        let response: [UInt8] = [0, 0xDC, 0x2C, 0x01, 0x64, 0, 0xF4, 0x01, 0x18, 0x01, 1, 2, 3, 4, 0xE8, 3, 0, 0, 0x40]
        #expect(
            IPMIOutputParser.parseDCMIResponse(response)
                == IPMIPowerReading(current: 300, minimum: 100, maximum: 500, average: 280))
        var inactive = response
        inactive[18] = 0
        #expect(IPMIOutputParser.parseDCMIResponse(inactive) == nil)
        #expect(IPMIOutputParser.parseDCMIResponse([0xC1]) == nil)
    }
}

extension String {
    func replacingActive(with replacement: String) -> String {
        split(separator: "\n", omittingEmptySubsequences: false).map { line in
            line.hasPrefix("Power Measurement") ? "Power Measurement                    : \(replacement)" : String(line)
        }.joined(separator: "\n")
    }
}
