// SPDX-License-Identifier: AGPL-3.0-or-later
//
// Drives ctvmd's console pages in headless Chromium (Debian's) through
// playwright-core, for test_console_pages.py.  One JSON object on argv[2]:
//   url        the page
//   cookie     a PVEAuthCookie to start with (else the login form is used)
//   login      {user, password, realm} for the form
//   expect     a regular expression (JavaScript's, multiline) the terminal's
//              text must match (xterm.js)
//   wait_for   a regular expression to wait for before typing
//   type       lines typed into the terminal once it is connected (and
//              wait_for matched), each followed by Enter
//   compare    {endpoint, dir, shots} (noVNC): once the canvas is not black,
//              `shots` pairs a second apart: the canvas's pixels at its
//              native size (toDataURL, PNG) into dir/canvas-N.png, and right
//              after the GET of `endpoint` (the screenshot endpoint, with the
//              page's cookie) into dir/endpoint-N.png; the test compares them
//   paste      text typed through the page's Paste text button (noVNC),
//              after `compare`; the page's state is then awaited until it
//              is no longer connected or the time is up
//   timeout_ms all of it
// Prints one JSON object: {ok, state, message, text, lit, canvas_size,
// shots: [[canvas status, endpoint status]...], paste: {hidden, message,
// state}, shown_login, login_error}; `state` is the page's before `paste`.
// Exits 0 whether or not the page did what was asked; 1 on a broken run.
// Loopback only: the page's origin is the daemon's.

import { createRequire } from 'node:module';
import fs from 'node:fs';

const require = createRequire(process.env.CTVM_WWW_MODULES + '/');
const { chromium } = require('playwright-core');

const a = JSON.parse(process.argv[2]);
const deadline = Date.now() + (a.timeout_ms || 60000);
const left = () => Math.max(1000, deadline - Date.now());
const out = { ok: false, state: '', message: '', text: '', lit: 0, shown_login: false };

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  // root in CI: no user namespaces for Chromium's sandbox; loopback only
  args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-dev-shm-usage',
    '--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1'],
  timeout: 30000,
});
try {
  const ctx = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1024, height: 800 } });
  if (a.cookie) {
    const u = new URL(a.url);
    await ctx.addCookies([{ name: 'PVEAuthCookie', value: encodeURIComponent(a.cookie),
      domain: u.hostname, path: '/', secure: true, sameSite: 'Strict' }]);
  }
  const page = await ctx.newPage();
  page.setDefaultTimeout(left());
  const logs = [];
  page.on('console', (m) => logs.push(`${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => logs.push(`pageerror: ${e.message}`));
  // other tests on the host add and remove bridges and taps; Chromium
  // aborts a navigation on such a change (ERR_NETWORK_CHANGED): retry it
  for (let i = 0; ; i++) {
    try {
      await page.goto(a.url);
      break;
    } catch (e) {
      if (i >= 4 || !String(e.message).includes('ERR_NETWORK_CHANGED')) throw e;
      await page.waitForTimeout(500);
    }
  }
  const st = () => page.evaluate(() => window.ctvmConsole && window.ctvmConsole.state);
  await page.waitForFunction(() => window.ctvmConsole && window.ctvmConsole.state !== 'loading');
  if ((await st()) === 'login') {
    out.shown_login = true;
    if (a.login) {
      await page.fill('#username', a.login.user);
      await page.fill('#password', a.login.password);
      await page.selectOption('#realm', a.login.realm || 'pam');
      await page.click('#submit');
      await page.waitForFunction(() => window.ctvmConsole.state !== 'login' ||
        document.getElementById('loginerror').textContent !== '', null, { timeout: left() });
      out.login_error = await page.textContent('#loginerror');
    }
  }
  if ((await st()) === 'login') {
    out.state = 'login';
    out.ok = true;
    throw null;
  }
  await page.waitForFunction(
    () => ['connected', 'closed', 'error'].includes(window.ctvmConsole.state), null,
    { timeout: left() });
  const textMatches = (re) => page.waitForFunction(
    (r) => new RegExp(r, 'm').test(window.ctvmConsole.text()), re,
    { timeout: left(), polling: 250 }).then(() => true, () => false);
  if (a.type && (await st()) === 'connected') {
    if (a.wait_for) await textMatches(a.wait_for);
    await page.click('#screen');
    for (const line of a.type) {
      await page.keyboard.type(line);
      await page.keyboard.press('Enter');
    }
  }
  if (a.expect) {
    await textMatches(a.expect);
    out.text = await page.evaluate(() => window.ctvmConsole.text());
  }
  if (a.compare) {
    // the guest's screen: wait until the canvas shows something other than black
    const lit = () => page.evaluate(() => {
      const c = window.ctvmConsole.canvas();
      if (!c || !c.width) return 0;
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 0; i < d.length; i += 4) if (d[i] + d[i + 1] + d[i + 2] > 60) n++;
      return n;
    });
    while (Date.now() < deadline && (out.lit = await lit()) < 50)
      await page.waitForTimeout(500);
    out.canvas_size = await page.evaluate(() => {
      const c = window.ctvmConsole.canvas();
      return c ? [c.width, c.height] : null;
    });
    // the canvas's own pixels (its width and height are the guest's
    // framebuffer's; CSS scales it on the page): no element screenshot,
    // which would be at the scaled size
    const endpoint = new URL(a.compare.endpoint, a.url).href;
    out.shots = [];
    for (let i = 0; i < (a.compare.shots || 1) && Date.now() < deadline; i++) {
      if (i) await page.waitForTimeout(1000);
      const url = await page.evaluate(() => {
        const c = window.ctvmConsole.canvas();
        return c && c.width ? c.toDataURL('image/png') : '';
      });
      const png = url.startsWith('data:image/png;base64,')
        ? Buffer.from(url.slice(22), 'base64') : null;
      if (png) fs.writeFileSync(`${a.compare.dir}/canvas-${i}.png`, png);
      const r = await page.request.get(endpoint, { timeout: 30000 });
      if (r.ok()) fs.writeFileSync(`${a.compare.dir}/endpoint-${i}.png`, await r.body());
      out.shots.push([png ? 200 : 0, r.status()]);
    }
  }
  out.state = await st();
  if (a.paste !== undefined && out.state === 'connected') {
    // the mouse stays off the canvas: a pointer event would reach the guest
    await page.click('#paste');
    await page.fill('#pastetext', a.paste);
    await page.click('#pastesend');
    await page.waitForFunction(() => document.getElementById('pastebox').hidden ||
      window.ctvmConsole.message.includes('paste failed'), null, { timeout: left() });
    out.paste = {
      hidden: await page.evaluate(() => document.getElementById('pastebox').hidden),
      message: await page.evaluate(() => window.ctvmConsole.message),
    };
    if (out.paste.hidden) {
      await page.waitForFunction(() => window.ctvmConsole.state !== 'connected', null,
        { timeout: left(), polling: 250 }).catch(() => {});
    }
    out.paste.state = await st();
  }
  out.ok = true;
  out.message = await page.evaluate(() => window.ctvmConsole.message);
  out.logs = logs.slice(0, 50);
} catch (e) {
  if (e !== null) out.error = String(e && e.message || e).slice(0, 2000);
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify(out) + '\n');
