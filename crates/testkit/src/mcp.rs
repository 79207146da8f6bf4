//! A tiny MCP server for fault tests: a hand-written JSON-RPC loop over stdio, in
//! JavaScript for `node` (which the MCP tests need anyway for the npm servers).
//!
//! [`FaultMcpServer::write`] puts the script in a folder and [`FaultMcpServer::argv`]
//! gives the command that starts it in one of its [`FaultMode`]s. In `serve` mode it
//! answers `initialize`, `tools/list` and `tools/call` for these tools:
//!
//! | tool | what a call does |
//! |---|---|
//! | `echo` | answers `echo: <text>` |
//! | `fail` | answers a result with `isError: true` |
//! | `picture` | answers a text and an image |
//! | `crash` | writes `panic: crashing on purpose…` to stderr and exits with code 3, without answering |
//! | `hang` | never answers |
//! | `dotted.name` | answers `dotted` (a name model APIs refuse, to test renaming) |

use std::path::{Path, PathBuf};

/// What the fault server does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultMode {
    /// A working server with the tools listed in the module docs.
    Serve,
    /// Reads requests and never answers any (not even `initialize`).
    Silent,
    /// Writes an error to stderr and exits with code 2 before reading anything.
    ExitAtStart,
}

impl FaultMode {
    fn as_arg(self) -> &'static str {
        match self {
            FaultMode::Serve => "serve",
            FaultMode::Silent => "silent",
            FaultMode::ExitAtStart => "exit-at-start",
        }
    }
}

/// The fault server's script, written to a folder.
#[derive(Debug, Clone)]
pub struct FaultMcpServer {
    script: PathBuf,
}

impl FaultMcpServer {
    /// Writes the script as `rein-test-mcp.js` in `dir`.
    pub fn write(dir: &Path) -> std::io::Result<FaultMcpServer> {
        let script = dir.join("rein-test-mcp.js");
        std::fs::write(&script, FAULT_SERVER_JS)?;
        Ok(FaultMcpServer { script })
    }

    /// The command that starts the server in `mode` (`node` found on `PATH`).
    pub fn argv(&self, mode: FaultMode) -> Vec<String> {
        vec![
            "node".to_owned(),
            self.script.display().to_string(),
            mode.as_arg().to_owned(),
        ]
    }
}

/// The script: newline-delimited JSON-RPC 2.0 on stdin/stdout, as MCP's stdio transport.
pub const FAULT_SERVER_JS: &str = r#"'use strict';
// rein's MCP fault server: see crates/testkit/src/mcp.rs.
const mode = process.argv[2] || 'serve';
if (mode === 'exit-at-start') {
  process.stderr.write('fatal: cannot open config file /etc/rein-test-mcp.toml\n', () => process.exit(2));
} else {
  serve();
}
function serve() {
const send = (message) => process.stdout.write(JSON.stringify({ jsonrpc: '2.0', ...message }) + '\n');
const text = (value) => ({ type: 'text', text: value });
const anyObject = { type: 'object' };
const tools = [
  { name: 'echo', description: 'Answers with its text', inputSchema: { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] } },
  { name: 'fail', description: 'Answers with an error result', inputSchema: anyObject },
  { name: 'picture', description: 'Answers with a text and an image', inputSchema: anyObject },
  { name: 'crash', description: 'Exits in the middle of the call', inputSchema: anyObject },
  { name: 'hang', description: 'Never answers', inputSchema: anyObject },
  { name: 'dotted.name', description: 'Has a dot in its name', inputSchema: anyObject },
];
function call(id, name, args) {
  switch (name) {
    case 'echo': return send({ id, result: { content: [text('echo: ' + args.text)] } });
    case 'fail': return send({ id, result: { content: [text('the thing failed')], isError: true } });
    case 'picture': return send({ id, result: { content: [text('a picture:'), { type: 'image', data: 'iVBORw0KGgo=', mimeType: 'image/png' }] } });
    case 'crash':
      process.stderr.write('panic: crashing on purpose in the middle of a call\n', () => process.exit(3));
      return;
    case 'hang': return;
    case 'dotted.name': return send({ id, result: { content: [text('dotted')] } });
    default: return send({ id, error: { code: -32602, message: 'unknown tool: ' + name } });
  }
}
let buffered = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
  buffered += chunk;
  let newline;
  while ((newline = buffered.indexOf('\n')) >= 0) {
    const line = buffered.slice(0, newline).trim();
    buffered = buffered.slice(newline + 1);
    if (line === '' || mode === 'silent') continue;
    let message;
    try { message = JSON.parse(line); } catch (error) { continue; }
    if (message.id === undefined || message.method === undefined) continue; // notifications, replies
    const params = message.params || {};
    switch (message.method) {
      case 'initialize':
        send({ id: message.id, result: { protocolVersion: params.protocolVersion, capabilities: { tools: {} }, serverInfo: { name: 'rein-test-mcp', version: '1.0.0' } } });
        break;
      case 'ping': send({ id: message.id, result: {} }); break;
      case 'tools/list': send({ id: message.id, result: { tools } }); break;
      case 'tools/call': call(message.id, params.name, params.arguments || {}); break;
      default: send({ id: message.id, error: { code: -32601, message: 'method not found: ' + message.method } });
    }
  }
});
process.stdin.on('end', () => process.exit(0));
}
"#;
