"""How the browser tests and ``bench/_browser.py`` launch Chromium."""

#: Headless Chromium with software WebGL (SwiftShader) and nothing that calls out of the machine.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--use-angle=swiftshader",
    "--enable-unsafe-swiftshader",
    "--ignore-gpu-blocklist",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
