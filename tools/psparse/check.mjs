#!/usr/bin/env node
// check.mjs FILE... - parse each file with the tree-sitter PowerShell grammar and report, with line and column:
//   syntax             every ERROR or missing node;
//   ps51               syntax Windows PowerShell 5.1 does not have (??, ?:, ?., && and ||, -Parallel, -AsHashtable):
//                      the Remote Access servers run 5.1;
//   code-from-text     text run as code (Invoke-Expression, iex, & $x, . $x, [ScriptBlock]::Create, InvokeScript,
//                      NewScriptBlock); only the bootstrap ("# remoteaccess-bootstrap/v1") may create its one
//                      script block, from the script the provider sends;
//   wildcard-or-regex  in a script that selects SAs or connections (it calls Get-NetIPsecMainModeSA,
//                      Get-NetIPsecQuickModeSA or Get-RemoteAccessConnectionStatistics, or is a helper that
//                      scripts include, "# remoteaccess-include:"): -like, -match and their
//                      variants, Where-Object -Like/-Match, switch -Wildcard/-Regex, [regex], [WildcardPattern], and
//                      .Contains/.StartsWith/.EndsWith/.IndexOf/.LastIndexOf on anything but a collection the
//                      script built itself with ::new() (a HashSet's Contains is exact; a string's is a substring).
//   sa-identity-shape  .Identity or .AuthenticationMethod read outside the functions Get-IdText and Get-IdMethod:
//                      the class page MSFT_NetMainModeSA lists the identities as strings, the seed article reads
//                      objects, so scripts read them only through those two functions, which take both shapes;
//   nlb-interface      in a script the provider sends ("# remoteaccess-script:"), an NLB cluster or node cmdlet
//                      without -InterfaceName: a DirectAccess cluster can have two NLB clusters (internal and
//                      Internet), and without it the cmdlet takes "the local NLB cluster", one of them;
//   vpn-by-address     Disconnect-VpnUser -UserName: the cmdlet documents DOMAIN\USERNAME only, and the statistics
//                      may print dns.domain\user: disconnect by -HostIPAddress, the tunnel address.
// Exits 1 when any file has a finding, 2 on usage or I/O errors. Cmdlet names and parameters are not checked.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import v8 from 'node:v8';

// Baseline (Liftoff) WebAssembly code parses a few files at once; without this V8 spends seconds optimising the
// 1 MB grammar in the background before the process may exit.
v8.setFlagsFromString('--liftoff-only');
const { Parser, Language } = await import('web-tree-sitter');

const require = createRequire(import.meta.url);

const wildcardOperators = new Set(['like', 'ilike', 'clike', 'notlike', 'inotlike', 'cnotlike',
  'match', 'imatch', 'cmatch', 'notmatch', 'inotmatch', 'cnotmatch'].map((op) => '-' + op));
const patternTypes = new Set(['regex', 'text.regularexpressions.regex', 'system.text.regularexpressions.regex',
  'wildcardpattern', 'management.automation.wildcardpattern', 'system.management.automation.wildcardpattern']);
const substringMethods = new Set(['contains', 'startswith', 'endswith', 'indexof', 'lastindexof']);
const selectingCmdlets = new Set(['get-netipsecmainmodesa', 'get-netipsecquickmodesa', 'get-remoteaccessconnectionstatistics']);
const ps7Parameters = new Set(['-parallel', '-ashashtable']);
const codeCommands = new Set(['invoke-expression', 'iex']);
const codeMethods = new Set(['invokescript', 'newscriptblock']);
const scriptBlockTypes = new Set(['scriptblock', 'system.management.automation.scriptblock', 'management.automation.scriptblock']);
const bootstrapLine = '# remoteaccess-bootstrap/v1';
const scriptLinePrefix = '# remoteaccess-script: ';
const includeLinePrefix = '# remoteaccess-include: ';
const identityMembers = new Set(['identity', 'authenticationmethod']);
const identityReaders = new Set(['get-idtext', 'get-idmethod']);
const nlbCmdlets = new Set(['get-nlbcluster', 'get-nlbclusternode', 'stop-nlbclusternode', 'start-nlbclusternode',
  'resume-nlbclusternode', 'suspend-nlbclusternode']);

async function loadParser() {
  await Parser.init();
  const wasm = require.resolve('tree-sitter-powershell/tree-sitter-powershell.wasm');
  const parser = new Parser();
  parser.setLanguage(await Language.load(wasm));
  return parser;
}

// nodes lists every node of the tree, depth first.
function nodes(tree) {
  const all = [];
  const cursor = tree.walk();
  const visit = () => {
    all.push(cursor.currentNode);
    if (cursor.gotoFirstChild()) {
      do visit(); while (cursor.gotoNextSibling());
      cursor.gotoParent();
    }
  };
  visit();
  return all;
}

const where = (node) => `${node.startPosition.row + 1}:${node.startPosition.column + 1}`;
const typeName = (typeLiteral) => typeLiteral.text.replace(/[[\]\s]/g, '').toLowerCase();

// collectionVariables are the variables the script assigns a generic collection built with ::new(), whose
// Contains is an exact (set or list) membership test.
function collectionVariables(all) {
  const vars = new Set();
  for (const n of all) {
    if (n.type !== 'assignment_expression') continue;
    const left = n.child(0).text.trim().toLowerCase();
    const right = n.child(n.childCount - 1).text;
    if (/^\$\w+$/.test(left) && /(HashSet|List|Dictionary|SortedSet)\[/i.test(right) && /::new\(/i.test(right)) {
      vars.add(left);
    }
  }
  return vars;
}

// memberCall splits an invokation_expression into its receiver and lower-case member name.
function memberCall(n) {
  if (n.type !== 'invokation_expression') return null;
  const member = n.children.find((c) => c.type === 'member_name');
  return member ? { receiver: n.child(0), name: member.text.toLowerCase() } : null;
}

// insideFunction reports whether a node is inside the body of a function with one of the given lower-case names.
function insideFunction(node, names) {
  for (let p = node.parent; p; p = p.parent) {
    if (p.type !== 'function_statement') continue;
    const name = p.children.find((c) => c.type === 'function_name');
    if (name && names.has(name.text.toLowerCase())) return true;
  }
  return false;
}

// commandParameters lists the lower-case parameters a command passes itself (not those of commands nested in it).
function commandParameters(command) {
  const elements = command.childForFieldName('command_elements');
  if (!elements) return [];
  return elements.children.filter((c) => c.type === 'command_parameter').map((c) => c.text.toLowerCase().replace(/:$/, ''));
}

function findings(tree, text) {
  const all = nodes(tree);
  const found = [];
  const add = (node, rule, message) => found.push(`${where(node)}: ${rule}: ${message}`);
  const firstLine = text.replace(/^\uFEFF/, '').split(/\r?\n/, 1)[0];
  const isBootstrap = firstLine === bootstrapLine;
  // A helper (scripts/include) is part of the provider's scripts that include it, which may select SAs: it is held
  // to their rules whatever it calls itself.
  const isHelper = firstLine.startsWith(includeLinePrefix);
  const isProviderScript = isHelper || firstLine.startsWith(scriptLinePrefix);
  const selects = isHelper || all.some((n) => n.type === 'command_name' && selectingCmdlets.has(n.text.toLowerCase()));
  const collections = collectionVariables(all);

  for (const n of all) {
    if (n.isMissing) {
      add(n, 'syntax', `missing ${n.type}`);
      continue;
    }
    switch (n.type) {
      case 'ERROR': {
        // Only the outermost ERROR is reported; a leading ? is PowerShell 7 syntax (??, ?:, ?.).
        if (n.parent && n.parent.type === 'ERROR') break;
        const inner = n.children.find((c) => c.type === 'ERROR' && c.text.trim().startsWith('?'));
        if (n.text.trim().startsWith('?') || inner) {
          add(n, 'ps51', `${JSON.stringify((inner || n).text.trim().slice(0, 2))}: the ?? ?: and ?. operators need PowerShell 7`);
        } else {
          add(n, 'syntax', `syntax error near ${JSON.stringify(n.text.slice(0, 40))}`);
        }
        break;
      }
      case 'pipeline_chain_tail':
        add(n, 'ps51', `${n.text.trim()}: pipeline chain operators need PowerShell 7`);
        break;
      case 'command_parameter': {
        const p = n.text.toLowerCase();
        if (ps7Parameters.has(p)) add(n, 'ps51', `${n.text} is a PowerShell 7 parameter`);
        if (selects && wildcardOperators.has(p)) add(n, 'wildcard-or-regex', `${n.text} compares by pattern`);
        break;
      }
      case 'comparison_operator':
        if (selects && wildcardOperators.has(n.text.toLowerCase())) add(n, 'wildcard-or-regex', `${n.text} compares by pattern`);
        break;
      case 'switch_parameter':
        if (selects && ['-wildcard', '-regex'].includes(n.text.toLowerCase())) add(n, 'wildcard-or-regex', `switch ${n.text} compares by pattern`);
        break;
      case 'type_literal':
        if (selects && patternTypes.has(typeName(n))) add(n, 'wildcard-or-regex', `${n.text} compares by pattern`);
        break;
      case 'command_name':
        if (codeCommands.has(n.text.toLowerCase())) add(n, 'code-from-text', `${n.text} runs text as code`);
        break;
      case 'member_name':
        if (identityMembers.has(n.text.toLowerCase()) && !insideFunction(n, identityReaders)) {
          add(n, 'sa-identity-shape', `.${n.text} read outside Get-IdText/Get-IdMethod: SA identities can be strings or objects`);
        }
        break;
      case 'command': {
        const commandName = n.childForFieldName('command_name');
        const cmdlet = commandName ? commandName.text.toLowerCase() : '';
        const params = commandParameters(n);
        if (isProviderScript && nlbCmdlets.has(cmdlet) && !params.includes('-interfacename')) {
          add(n, 'nlb-interface', `${commandName.text} without -InterfaceName takes one NLB cluster of the host`);
        }
        if (cmdlet === 'disconnect-vpnuser' && params.includes('-username')) {
          add(n, 'vpn-by-address', 'Disconnect-VpnUser -UserName documents DOMAIN\\USERNAME only: disconnect by -HostIPAddress');
        }
        const op = n.children.find((c) => c.type === 'command_invokation_operator');
        const name = n.children.find((c) => c.type === 'command_name_expr');
        if (op && name && name.text.trim().startsWith('$')) add(n, 'code-from-text', `${op.text} ${name.text.trim()} runs whatever the variable holds`);
        break;
      }
      case 'invokation_expression': {
        const call = memberCall(n);
        if (!call) break;
        if (codeMethods.has(call.name)) add(n, 'code-from-text', `.${call.name} runs text as code`);
        if (call.name === 'create' && call.receiver.type === 'type_literal' && scriptBlockTypes.has(typeName(call.receiver)) && !isBootstrap) {
          add(n, 'code-from-text', `${call.receiver.text}::Create runs text as code`);
        }
        if (selects && substringMethods.has(call.name) && !collections.has(call.receiver.text.trim().toLowerCase())) {
          add(n, 'wildcard-or-regex', `${call.receiver.text.trim()}.${call.name}() on a string matches a substring; compare whole strings`);
        }
        break;
      }
    }
  }
  return found;
}

async function main(files) {
  if (files.length === 0) {
    console.error('usage: check.mjs FILE...');
    return 2;
  }
  const parser = await loadParser();
  let status = 0;
  for (const file of files) {
    let text;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      console.error(`${file}: ${err.message}`);
      status = 2;
      continue;
    }
    const tree = parser.parse(text);
    const found = findings(tree, text);
    tree.delete();
    for (const f of found) console.error(`${file}:${f}`);
    if (found.length > 0 && status === 0) status = 1;
  }
  return status;
}

process.exitCode = await main(process.argv.slice(2));
