/// The HTML landing page every server shows on `/`, shaped like exporter-toolkit's.
public struct LandingPage: Sendable {
    public struct Link: Sendable {
        public var address: String
        public var text: String

        public init(address: String, text: String) {
            self.address = address
            self.text = text
        }
    }

    public var name: String
    public var description: String
    public var version: String
    public var links: [Link]

    public init(name: String, description: String, version: String, links: [Link]) {
        self.name = name
        self.description = description
        self.version = version
        self.links = links
    }

    public func render() -> String {
        var items = ""
        for link in links {
            items += "        <li><a href=\"\(Self.escape(link.address))\">\(Self.escape(link.text))</a></li>\n"
        }
        return """
            <!DOCTYPE html>
            <html lang="en">
              <head>
                <meta charset="UTF-8">
                <title>\(Self.escape(name))</title>
                <style>
                  body { font-family: -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
                         margin: 0; }
                  header { background-color: #e6522c; color: #fff; font-size: 1rem; padding: 1rem; }
                  main { padding: 1rem; }
                </style>
              </head>
              <body>
                <header>
                  <h1>\(Self.escape(name))</h1>
                </header>
                <main>
                  <h2>\(Self.escape(description))</h2>
                  <div>Version: \(Self.escape(version))</div>
                  <div>
                    <ul>
            \(items)        </ul>
                  </div>
                </main>
              </body>
            </html>

            """
    }

    static func escape(_ text: String) -> String {
        var out = ""
        for character in text {
            switch character {
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "&": out += "&amp;"
            case "\"": out += "&#34;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }
}
