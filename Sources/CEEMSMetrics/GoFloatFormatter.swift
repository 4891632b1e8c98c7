/// Formats doubles exactly as the Go Prometheus client writes sample values: `strconv.FormatFloat(v, 'g', -1,
/// 64)`, with `0`, `1`, `-1`, `NaN`, `+Inf` and `-Inf` special-cased (so negative zero prints `0`).
///
/// The shortest digit string that round-trips is taken from Swift's `description` (which is also shortest and
/// closest); only the layout differs: Go switches to the exponent form `d.ddde±XX` when the decimal exponent is
/// below -4 or at least 6 (so `732147` but `1.036395e+06`), where Swift waits until 2^53.
public enum GoFloatFormatter {
    public static func format(_ value: Double) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(24)
        append(value, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Appends the Go rendering of `value` to `out`.
    public static func append(_ value: Double, to out: inout [UInt8]) {
        if value == 0 {
            out.append(UInt8(ascii: "0"))
            return
        }
        if value.isNaN {
            out.append(contentsOf: "NaN".utf8)
            return
        }
        if value.isInfinite {
            out.append(contentsOf: (value > 0 ? "+Inf" : "-Inf").utf8)
            return
        }
        let magnitude = value.magnitude
        // Integers below 2^53 are represented exactly and spaced at most 1 apart, so their shortest digits are
        // their decimal digits without trailing zeros: no string conversion needed.
        if magnitude < 9_007_199_254_740_992, magnitude.rounded(.towardZero) == magnitude {
            if value < 0 { out.append(UInt8(ascii: "-")) }
            appendInteger(UInt64(magnitude), to: &out)
            return
        }
        var digits: [UInt8] = []
        digits.reserveCapacity(17)
        let exponent = shortestDigits(of: magnitude, into: &digits)
        if value < 0 { out.append(UInt8(ascii: "-")) }
        layout(digits: digits, exponent: exponent, to: &out)
    }

    static func appendInteger(_ n: UInt64, to out: inout [UInt8]) {
        var reversed: [UInt8] = []
        reversed.reserveCapacity(20)
        var rest = n
        repeat {
            reversed.append(UInt8(ascii: "0") + UInt8(rest % 10))
            rest /= 10
        } while rest > 0
        let exponent = reversed.count - 1
        if exponent < 6 {
            out.append(contentsOf: reversed.reversed())
            return
        }
        // Exponent form: strip trailing zeros (the front of `reversed`).
        var firstSignificant = 0
        while reversed[firstSignificant] == UInt8(ascii: "0") { firstSignificant += 1 }
        let digits = Array(reversed[firstSignificant...].reversed())
        layout(digits: digits, exponent: exponent, to: &out)
    }

    /// Writes `0.ddd × 10^(exponent+1)` digits in Go's `%g` shortest layout.
    static func layout(digits: [UInt8], exponent: Int, to out: inout [UInt8]) {
        if exponent < -4 || exponent >= 6 {
            out.append(digits[0])
            if digits.count > 1 {
                out.append(UInt8(ascii: "."))
                out.append(contentsOf: digits[1...])
            }
            out.append(UInt8(ascii: "e"))
            out.append(exponent < 0 ? UInt8(ascii: "-") : UInt8(ascii: "+"))
            let e = abs(exponent)
            if e < 10 { out.append(UInt8(ascii: "0")) }
            out.append(contentsOf: String(e).utf8)
            return
        }
        let pointPosition = exponent + 1  // digits before the decimal point
        if pointPosition <= 0 {
            out.append(UInt8(ascii: "0"))
            out.append(UInt8(ascii: "."))
            for _ in 0..<(-pointPosition) { out.append(UInt8(ascii: "0")) }
            out.append(contentsOf: digits)
            return
        }
        if digits.count <= pointPosition {
            out.append(contentsOf: digits)
            for _ in 0..<(pointPosition - digits.count) { out.append(UInt8(ascii: "0")) }
            return
        }
        out.append(contentsOf: digits[..<pointPosition])
        out.append(UInt8(ascii: "."))
        out.append(contentsOf: digits[pointPosition...])
    }

    /// Extracts the shortest round-trip significant digits of a positive finite value and the decimal exponent of
    /// the first digit, from Swift's `description` (`12.5`, `1e-05`, `1.2345e+20`).
    static func shortestDigits(of value: Double, into digits: inout [UInt8]) -> Int {
        let text = value.description.utf8
        var exponentAdjust = 0
        var pointIndex: Int?
        var count = 0
        var explicitExponent = 0
        var iterator = text.makeIterator()
        var sawExponent = false
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E") {
                sawExponent = true
                break
            }
            if byte == UInt8(ascii: ".") {
                pointIndex = count
                continue
            }
            digits.append(byte)
            count += 1
        }
        if sawExponent {
            var negative = false
            while let byte = iterator.next() {
                if byte == UInt8(ascii: "-") {
                    negative = true
                } else if byte == UInt8(ascii: "+") {
                    continue
                } else {
                    explicitExponent = explicitExponent * 10 + Int(byte - UInt8(ascii: "0"))
                }
            }
            if negative { explicitExponent = -explicitExponent }
        }
        let integerDigits = pointIndex ?? count
        // Leading zeros (0.00123) move the exponent down.
        var leading = 0
        while leading < digits.count - 1, digits[leading] == UInt8(ascii: "0") { leading += 1 }
        exponentAdjust = integerDigits - 1 - leading
        digits.removeFirst(leading)
        while digits.count > 1, digits.last == UInt8(ascii: "0") { digits.removeLast() }
        return exponentAdjust + explicitExponent
    }
}
