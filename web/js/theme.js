/* Dark theme for control rooms (issue 18): a toggle in the side panel's header. The choice is kept in
 * localStorage ('rm-theme'); on a first visit the browser's prefers-color-scheme decides. The theme is
 * the attribute html[data-theme=dark]: viewer.css swaps its colour variables and dims the basemap. */

var KEY = 'rm-theme';

function stored() {
  try { return window.localStorage.getItem(KEY); } catch (e) { return null; }   // storage may be blocked
}

export function currentTheme() { return document.documentElement.dataset.theme === 'dark' ? 'dark' : 'light'; }

function label(btn, theme) {
  btn.textContent = theme === 'dark' ? '☀ 浅色 Light' : '☾ 深色 Dark';
  btn.setAttribute('aria-pressed', theme === 'dark' ? 'true' : 'false');
  btn.title = theme === 'dark' ? '切换到浅色主题 light theme' : '切换到深色主题（控制室）dark theme for control rooms';
}

export function setTheme(theme, remember) {
  var t = theme === 'dark' ? 'dark' : 'light';
  document.documentElement.dataset.theme = t;
  var btn = document.getElementById('theme-toggle');
  if (btn) { label(btn, t); }
  if (remember) { try { window.localStorage.setItem(KEY, t); } catch (e) { /* not remembered */ } }
  return t;
}

export function setupTheme() {
  var saved = stored();
  var prefersDark = !!(window.matchMedia && window.matchMedia('(prefers-color-scheme: dark)').matches);
  setTheme(saved === 'dark' || saved === 'light' ? saved : (prefersDark ? 'dark' : 'light'), false);
  // paper is white: print in the light theme, then restore the screen's
  var screenTheme = null;
  window.addEventListener('beforeprint', function () { screenTheme = currentTheme(); document.documentElement.dataset.theme = 'light'; });
  window.addEventListener('afterprint', function () { if (screenTheme) { document.documentElement.dataset.theme = screenTheme; } });
  var btn = document.getElementById('theme-toggle');
  if (btn) {
    label(btn, currentTheme());
    btn.addEventListener('click', function (e) {
      e.preventDefault();
      setTheme(currentTheme() === 'dark' ? 'light' : 'dark', true);
    });
  }
}
