// SPDX-License-Identifier: AGPL-3.0-or-later
//
// ctvm's console page, at Proxmox VE's URLs (docs/consoles.md):
//   /?console=kvm&novnc=1&vmid=N&node=X     a VM's screen (noVNC)
//   /?console=kvm&xtermjs=1&vmid=N&node=X   a VM's serial port (xterm.js)
//   /?console=lxc&xtermjs=1&vmid=N&node=X   a container's terminal
//   /?console=shell&xtermjs=1&node=X        the node shell
// It logs in (or renews the PVEAuthCookie it finds, as Proxmox's UI does),
// asks for a one-time console ticket and opens vncwebsocket with it.
// window.ctvmConsole is for tests: the state and the terminal's text.

const API = '/api2/json';
const ASSETS = new URL('.', import.meta.url).pathname;
const PING_MS = 30000;

const q = new URLSearchParams(location.search);
const $ = (id) => document.getElementById(id);
let csrf = null;

const state = { state: 'loading', message: '', term: null, rfb: null };
window.ctvmConsole = {
  get state() { return state.state; },
  get message() { return state.message; },
  text() {
    const t = state.term;
    if (!t) return '';
    const b = t.buffer.active;
    const lines = [];
    for (let i = 0; i < b.length; i++) lines.push(b.getLine(i).translateToString(true));
    return lines.join('\n');
  },
  canvas() { return document.querySelector('#screen canvas'); },
};

function setStatus(s, msg) {
  state.state = s;
  state.message = msg || s;
  const el = $('status');
  el.dataset.state = s;
  el.textContent = state.message;
}

function cookie(name) {
  for (const c of document.cookie.split(';')) {
    const i = c.indexOf('=');
    if (i > 0 && c.slice(0, i).trim() === name) return decodeURIComponent(c.slice(i + 1).trim());
  }
  return null;
}

class ApiError extends Error {
  constructor(status, reason) {
    super(`${status} ${reason}`);
    this.status = status;
  }
}

async function api(method, path, params) {
  const opts = { method, headers: {}, credentials: 'same-origin' };
  if (csrf) opts.headers.CSRFPreventionToken = csrf;
  if (params) {
    opts.headers['Content-Type'] = 'application/x-www-form-urlencoded';
    opts.body = new URLSearchParams(params).toString();
  }
  const r = await fetch(API + path, opts);
  if (!r.ok) throw new ApiError(r.status, r.statusText);
  return (await r.json()).data;
}

async function login(username, password) {
  csrf = null;
  const d = await api('POST', '/access/ticket', { username, password });
  // as Proxmox's UI: the ticket in a cookie for the whole origin, the CSRF
  // token kept by the page for its POSTs
  document.cookie = `PVEAuthCookie=${encodeURIComponent(d.ticket)}; path=/; SameSite=Strict; Secure`;
  csrf = d.CSRFPreventionToken;
  return d;
}

// A ticket in the cookie is renewed (password = ticket), which also gives
// the CSRF token a page loaded on its own does not have.
async function renew() {
  const t = cookie('PVEAuthCookie');
  const m = t && /^PVE:([^:]+):/.exec(t);
  if (!m) return false;
  try {
    await login(m[1], t);
    return true;
  } catch (e) {
    return false;
  }
}

function askLogin() {
  setStatus('login', 'log in');
  const form = $('login');
  form.hidden = false;
  $('username').focus();
  return new Promise((resolve) => {
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      let user = $('username').value.trim();
      if (!user.includes('@')) user += '@' + $('realm').value;
      $('submit').disabled = true;
      try {
        await login(user, $('password').value);
        $('password').value = '';
        form.hidden = true;
        resolve();
      } catch (e) {
        $('loginerror').textContent = e.status === 401 ? 'Login failed, please try again' : e.message;
      } finally {
        $('submit').disabled = false;
      }
    });
  });
}

function target() {
  const kind = q.get('console');
  const node = q.get('node') || '';
  const vmid = q.get('vmid') || '';
  if (!/^[A-Za-z0-9][A-Za-z0-9.-]{0,62}$/.test(node)) throw new Error('no valid node= in the URL');
  if (kind === 'shell') return { kind, base: `/nodes/${node}`, name: `node ${node}` };
  if (!/^[1-9][0-9]{0,8}$/.test(vmid)) throw new Error('no valid vmid= in the URL');
  if (kind === 'kvm') return { kind, base: `/nodes/${node}/qemu/${vmid}`, name: `VM ${vmid}` };
  if (kind === 'lxc') return { kind, base: `/nodes/${node}/lxc/${vmid}`, name: `CT ${vmid}` };
  throw new Error(`unknown console '${kind}'`);
}

function wsUrl(t, d) {
  const p = new URLSearchParams({ port: d.port, vncticket: d.ticket });
  return `wss://${location.host}${API}${t.base}/vncwebsocket?${p}`;
}

function loadScript(src) {
  return new Promise((resolve, reject) => {
    const s = document.createElement('script');
    s.src = src;
    s.onload = resolve;
    s.onerror = () => reject(new Error(`cannot load ${src}`));
    document.head.appendChild(s);
  });
}

async function openTerminal(t) {
  const css = document.createElement('link');
  css.rel = 'stylesheet';
  css.href = ASSETS + 'xterm/xterm.css';
  document.head.appendChild(css);
  await loadScript(ASSETS + 'xterm/xterm.js');
  await loadScript(ASSETS + 'xterm/addon-fit.js');
  const params = {};
  if (t.kind === 'kvm') params.serial = q.get('serial') || 'serial0';
  const d = await api('POST', `${t.base}/termproxy`, params);

  const term = new window.Terminal({ scrollback: 1000, cursorBlink: true });
  const fit = new window.FitAddon.FitAddon();
  term.loadAddon(fit);
  term.open($('screen'));
  state.term = term;
  fit.fit();

  const enc = new TextEncoder();
  const ws = new WebSocket(wsUrl(t, d), 'binary');
  ws.binaryType = 'arraybuffer';
  let ready = false;
  let ping = null;
  const send = (s) => { if (ws.readyState === WebSocket.OPEN) ws.send(s); };
  const resize = () => send(`1:${term.cols}:${term.rows}:`);
  ws.onopen = () => send(`${d.user}:${d.ticket}\n`);
  ws.onmessage = (ev) => {
    let data = new Uint8Array(ev.data instanceof ArrayBuffer ? ev.data : enc.encode(ev.data));
    if (!ready) {
      // the server's "OK" answers the ticket line; the output follows
      if (data[0] !== 0x4f || data[1] !== 0x4b) {
        ws.close();
        setStatus('error', 'the terminal refused the ticket');
        return;
      }
      ready = true;
      data = data.subarray(2);
      setStatus('connected', `${t.name}: connected`);
      resize();
      ping = setInterval(() => send('2'), PING_MS);
      term.focus();
    }
    if (data.length) term.write(data);
  };
  ws.onclose = (ev) => {
    clearInterval(ping);
    if (state.state !== 'error') setStatus('closed', `${t.name}: closed (${ev.code})`);
  };
  // input and resizes, in Proxmox's framing; LEN counts UTF-8 bytes
  term.onData((s) => { if (ready) send(`0:${enc.encode(s).length}:${s}`); });
  term.onBinary((s) => { if (ready) send(`0:${s.length}:${s}`); });
  term.onResize(() => { if (ready) resize(); });
  window.addEventListener('resize', () => fit.fit());
}

async function openScreen(t) {
  const { default: RFB } = await import('./novnc/core/rfb.js');
  const path = t.kind === 'shell' ? 'vncshell' : 'vncproxy';
  const d = await api('POST', `${t.base}/${path}`, { websocket: 1 });
  const rfb = new RFB($('screen'), wsUrl(t, d), {
    credentials: { password: d.ticket },
    wsProtocols: ['binary'],
  });
  state.rfb = rfb;
  rfb.scaleViewport = true;
  rfb.addEventListener('connect', () => setStatus('connected', `${t.name}: connected`));
  rfb.addEventListener('disconnect', (ev) => {
    if (state.state !== 'error')
      setStatus(ev.detail.clean ? 'closed' : 'error', `${t.name}: disconnected`);
  });
  rfb.addEventListener('securityfailure', (ev) =>
    setStatus('error', `${t.name}: ${ev.detail.reason || 'VNC login failed'}`));
  if (t.kind === 'kvm') setupPaste(t);
}

// Types text into the VM through sendkey's text form (ctvm's extension);
// a server without it answers 400 or 501, which the box then says.
function setupPaste(t) {
  const box = $('pastebox');
  $('paste').hidden = false;
  $('paste').onclick = () => { box.hidden = false; $('pastetext').focus(); };
  $('pastecancel').onclick = () => { box.hidden = true; };
  $('pastesend').onclick = async () => {
    const text = $('pastetext').value;
    if (!text) return;
    try {
      await api('PUT', `${t.base}/sendkey`, { text });
      $('pastetext').value = '';
      box.hidden = true;
      state.rfb?.focus();
    } catch (e) {
      const why = e.status === 400 || e.status === 501 ? ' (this server may not type text)' : '';
      setStatus('connected', `paste failed: ${e.message}${why}`);
    }
  };
}

async function main() {
  try {
    const t = target();
    document.title = `${t.name} - ctvm console`;
    $('title').textContent = t.name;
    if (!(await renew())) await askLogin();
    setStatus('connecting', `${t.name}: connecting`);
    const vnc = q.has('novnc') || (!q.has('xtermjs') && t.kind === 'kvm');
    await (vnc ? openScreen(t) : openTerminal(t));
  } catch (e) {
    setStatus('error', e.message);
  }
}

main();
