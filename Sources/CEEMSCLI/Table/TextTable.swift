/// A table rendered the way `cacct` prints it (cacct.md §5): light box drawing, upper-cased headers whose
/// repeated neighbours merge, columns empty in every data row suppressed, per-column minimum and maximum widths
/// with text wrapped (at spaces when it can) to the maximum, no trailing spaces. Also renders CSV, Markdown and
/// HTML of the same rows.
public struct TextTable: Sendable {
    public struct Column: Sendable {
        public var minWidth: Int
        public var maxWidth: Int
        /// Whether fitting the terminal may wrap this column's values (numbers may; ids and names should not).
        public var mayWrapValues: Bool

        public init(minWidth: Int = 0, maxWidth: Int = .max, mayWrapValues: Bool = true) {
            self.minWidth = minWidth
            self.maxWidth = maxWidth
            self.mayWrapValues = mayWrapValues
        }
    }

    public var columns: [Column]
    /// Header rows; equal neighbouring titles merge into one cell.
    public var headers: [[String]] = []
    public var rows: [[String]] = []
    /// Footer: a title row merged across the table, then rows.
    public var footerTitle: String?
    public var footerRows: [[String]] = []
    /// The terminal's width: wider tables narrow their widest columns (never below their minimum) to fit.
    public var terminalWidth: Int?
    /// Spaces left and right of each cell; a table too wide for the terminal at its narrowest drops the left one.
    var padding = (left: 1, right: 1)
    var columnCost: Int { padding.left + padding.right + 1 }

    public init(columns: [Column]) { self.columns = columns }

    /// Indexes of the columns that have a value in some data or footer row.
    var visible: [Int] {
        columns.indices.filter { index in (rows + footerRows).contains { index < $0.count && !$0[index].isEmpty } }
    }

    static func cell(_ row: [String], _ index: Int) -> String { index < row.count ? row[index] : "" }

    // MARK: text

    public func renderText() -> String {
        var table = self
        return table.layOut()
    }

    mutating func layOut() -> String {
        let shown = visible
        guard !shown.isEmpty else { return "" }
        let headers = self.headers.map { row in shown.map { Self.cell(row, $0).uppercased() } }
        let body = rows.map { row in shown.map { Self.cell(row, $0) } }
        let footer = footerRows.map { row in shown.map { Self.cell(row, $0) } }
        let limits = shown.map { columns[$0] }
        // Width: the longest line of an unmerged cell, within the column's limits.
        var widths = limits.map { max($0.minWidth, 1) }
        // Merged header cells wrap inside the columns they span; they do not widen them.
        var sized: [[String]] = body + footer
        for header in headers {
            var single = Array(repeating: "", count: header.count)
            for (start, count) in Self.spans(header) where count == 1 { single[start] = header[start] }
            sized.append(single)
        }
        for row in sized {
            for (index, text) in row.enumerated() {
                let longest = Self.wrap(text, width: limits[index].maxWidth).map(\.count).max() ?? 0
                widths[index] = max(widths[index], min(longest, limits[index].maxWidth))
            }
        }
        if let terminalWidth {
            // Each column costs its width plus 3 (padding and its left rule), plus the final rule. First headers
            // wrap (columns narrow to their longest value), then values of columns that may wrap, widest first;
            // ids and names never wrap, and a table that still does not fit is printed as it is.
            var dataWidths = widths.indices.map { _ in 1 }
            for row in body + footer {
                for (index, text) in row.enumerated() {
                    dataWidths[index] = max(dataWidths[index], min(text.count, limits[index].maxWidth))
                }
            }
            var total = widths.reduce(0, +) + columnCost * widths.count + 1
            for floorOfValues in [true, false, false] {
                if !floorOfValues && total > terminalWidth && padding.left > 0 && widths.count > 1 {
                    // Values must wrap: first give back the left padding of every cell.
                    padding.left = 0
                    total -= widths.count
                }
                while total > terminalWidth {
                    let slack = widths.indices.map { index -> Int in
                        var floor = max(limits[index].minWidth, 1)
                        if floorOfValues || !limits[index].mayWrapValues { floor = max(floor, dataWidths[index]) }
                        return widths[index] - floor
                    }
                    guard let widest = slack.indices.max(by: { slack[$0] < slack[$1] }), slack[widest] > 0 else { break }
                    widths[widest] -= 1
                    total -= 1
                }
            }
            // Room left (after the padding went): widen the columns whose header titles break inside a word,
            // those closest to fitting first.
            let wordWidths = widths.indices.map { index in
                headers.map { Self.longestPiece(Self.spans($0).contains { $0.0 == index && $0.1 == 1 } ? $0[index] : "") }
                    .max() ?? 0
            }
            while total < terminalWidth {
                let deficits = widths.indices.filter { widths[$0] < min(wordWidths[$0], limits[$0].maxWidth) }
                guard let index = deficits.min(by: { wordWidths[$0] - widths[$0] < wordWidths[$1] - widths[$1] }) else { break }
                widths[index] += 1
                total += 1
            }
        }
        if let terminalWidth, widths.reduce(0, +) + columnCost * widths.count + 1 > terminalWidth {
            return Self.records(headers: headers, body: body, footerTitle: footerTitle, footer: footer, width: terminalWidth)
        }
        var lines: [String] = []
        lines.append(border(widths, "┌", "┬", "┐", merges: headers.first.map(Self.spans) ?? nil))
        for (number, header) in headers.enumerated() {
            lines += renderRow(header, widths: widths, spans: Self.spans(header))
            if number == headers.count - 1 {
                lines.append(border(widths, "├", "┼", "┤", merges: nil))
            }
        }
        for row in body { lines += renderRow(row, widths: widths, spans: nil) }
        if let footerTitle {
            let full = [(0, widths.count)]
            lines.append(border(widths, "├", "┴", "┤", merges: nil))
            lines += renderRow([footerTitle] + Array(repeating: "", count: widths.count - 1), widths: widths, spans: full)
            lines.append(border(widths, "├", "┬", "┤", merges: nil))
            for row in footer { lines += renderRow(row, widths: widths, spans: nil) }
        }
        lines.append(border(widths, "└", "┴", "┘", merges: nil))
        return lines.map { Self.trimTrailing($0) }.joined(separator: "\n") + "\n"
    }

    /// A table too wide for the terminal even at its narrowest, one record per row (as `psql`'s expanded mode):
    /// `TITLE  value` lines, values wrapped under themselves, a rule between records.
    static func records(headers: [[String]], body: [[String]], footerTitle: String?, footer: [[String]], width: Int)
        -> String
    {
        let count = headers.first?.count ?? 0
        let titles = (0..<count).map { index in
            headers.map { $0[index] }.reduce(into: [String]()) { titles, title in
                if !title.isEmpty && titles.last != title { titles.append(title) }
            }.joined(separator: " ")
        }
        let titleWidth = min(titles.map(\.count).max() ?? 0, max(width / 2, 8))
        let valueWidth = max(width - titleWidth - 2, 8)
        func block(_ row: [String]) -> [String] {
            var lines: [String] = []
            for (index, value) in row.enumerated() where !value.isEmpty {
                let title = wrap(titles[index], width: titleWidth)
                let values = wrap(value, width: valueWidth)
                for line in 0..<max(title.count, values.count) {
                    let left = line < title.count ? title[line] : ""
                    let right = line < values.count ? values[line] : ""
                    lines.append(trimTrailing(left + String(repeating: " ", count: titleWidth - left.count + 2) + right))
                }
            }
            return lines
        }
        let rule = String(repeating: "─", count: min(width, titleWidth + 2 + valueWidth))
        var lines: [String] = []
        for row in body { lines += [rule] + block(row) }
        if let footerTitle, !footer.isEmpty {
            lines += [rule, footerTitle.uppercased()]
            for row in footer { lines += block(row) + (row == footer.last ? [] : [""]) }
        }
        lines.append(rule)
        return lines.joined(separator: "\n") + "\n"
    }

    /// Runs of equal neighbouring titles: (first column, count).
    static func spans(_ row: [String]) -> [(Int, Int)] {
        var spans: [(Int, Int)] = []
        var start = 0
        while start < row.count {
            var end = start + 1
            while end < row.count, !row[start].isEmpty, row[end] == row[start] { end += 1 }
            spans.append((start, end - start))
            start = end
        }
        return spans
    }

    func border(_ widths: [Int], _ left: String, _ middle: String, _ right: String, merges: [(Int, Int)]?) -> String {
        var line = left
        var joins = Set(1..<max(widths.count, 1))
        if let merges {
            joins = Set(merges.map(\.0).filter { $0 > 0 })
        }
        for (index, width) in widths.enumerated() {
            if index > 0 { line += joins.contains(index) ? middle : "─" }
            line += String(repeating: "─", count: width + padding.left + padding.right)
        }
        return line + right
    }

    func renderRow(_ row: [String], widths: [Int], spans: [(Int, Int)]?) -> [String] {
        let spans = spans ?? row.indices.map { ($0, 1) }
        var cells: [(lines: [String], width: Int)] = []
        for (start, count) in spans {
            let width = widths[start..<start + count].reduce(0, +) + columnCost * (count - 1)
            cells.append((Self.wrap(row[start], width: width), width))
        }
        let height = cells.map(\.lines.count).max() ?? 1
        var lines: [String] = []
        for lineNumber in 0..<max(height, 1) {
            var line = "│"
            for cell in cells {
                let text = lineNumber < cell.lines.count ? cell.lines[lineNumber] : ""
                line += String(repeating: " ", count: padding.left) + text
                    + String(repeating: " ", count: max(0, cell.width - text.count) + padding.right) + "│"
            }
            lines.append(line)
        }
        return lines
    }

    /// Lines of at most `width` characters, broken at spaces when a word fits, else inside words.
    static func wrap(_ text: String, width: Int) -> [String] {
        guard width > 0, text.count > width else { return [text] }
        var lines: [String] = []
        var current = ""
        for word in text.split(separator: " ", omittingEmptySubsequences: false) {
            var word = String(word)
            if !current.isEmpty, current.count + 1 + word.count <= width {
                current += " " + word
                continue
            }
            if !current.isEmpty { lines.append(current) }
            current = ""
            while word.count > width {
                let cut = breakPoint(word, width: width)
                lines.append(String(word.prefix(cut)))
                word = String(word.dropFirst(cut))
            }
            current = word
        }
        if !current.isEmpty { lines.append(current) }
        return lines
    }

    /// Where a word longer than `width` breaks: before a `(` or after a `_`, `.` or `-` when one lies in the
    /// second half of the line, else at the width.
    static func breakPoint(_ word: String, width: Int) -> Int {
        let characters = Array(word.prefix(width + 1))
        for index in stride(from: min(width, characters.count - 1), through: max(1, (width + 1) / 2), by: -1) {
            if characters[index] == "(" { return index }
            if "_.-".contains(characters[index - 1]) { return index }
        }
        return width
    }

    /// The longest piece of a title that `wrap` keeps on one line when it can (words, split before `(` and
    /// after `_`).
    static func longestPiece(_ text: String) -> Int {
        var longest = 0
        var current = 0
        var previous: Character = " "
        for character in text {
            if character == " " || character == "(" || previous == "_" {
                longest = max(longest, current)
                current = character == " " ? 0 : 1
            } else {
                current += 1
            }
            previous = character
        }
        return max(longest, current)
    }

    static func trimTrailing(_ line: String) -> String {
        var line = Substring(line)
        while line.last == " " { line = line.dropLast() }
        return String(line)
    }

    // MARK: other formats

    /// RFC 4180 CSV of the header (titles joined with their sub-key), rows and footer rows.
    public func renderCSV() -> String {
        let shown = visible
        var lines: [String] = []
        if !headers.isEmpty {
            lines.append(
                shown.map { index in
                    let parts = headers.map { Self.cell($0, index) }.filter { !$0.isEmpty }
                    return Self.csvField(parts.joined(separator: " "))
                }.joined(separator: ","))
        }
        for row in rows + footerRows { lines.append(shown.map { Self.csvField(Self.cell(row, $0)) }.joined(separator: ",")) }
        return lines.joined(separator: "\n") + "\n"
    }

    static func csvField(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    public func renderMarkdown() -> String {
        let shown = visible
        func line(_ cells: [String]) -> String {
            "| " + cells.map { $0.replacingOccurrences(of: "|", with: "\\|") }.joined(separator: " | ") + " |"
        }
        let title = shown.map { index in headers.map { Self.cell($0, index) }.filter { !$0.isEmpty }.joined(separator: " ") }
        var lines = [line(title), "| " + shown.map { _ in "---" }.joined(separator: " | ") + " |"]
        for row in rows + footerRows { lines.append(line(shown.map { Self.cell(row, $0) })) }
        return lines.joined(separator: "\n") + "\n"
    }

    public func renderHTML() -> String {
        let shown = visible
        func escape(_ text: String) -> String {
            text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
                .replacingOccurrences(of: ">", with: "&gt;")
        }
        var html = "<table class=\"ceems-table\">\n  <thead>\n"
        for header in headers {
            html += "  <tr>" + shown.map { "<th>\(escape(Self.cell(header, $0)))</th>" }.joined() + "</tr>\n"
        }
        html += "  </thead>\n  <tbody>\n"
        for row in rows + footerRows {
            html += "  <tr>" + shown.map { "<td>\(escape(Self.cell(row, $0)))</td>" }.joined() + "</tr>\n"
        }
        return html + "  </tbody>\n</table>\n"
    }
}

extension String {
    fileprivate func replacingOccurrences(of target: String, with replacement: String) -> String {
        split(separator: target, omittingEmptySubsequences: false).joined(separator: replacement)
    }
}
