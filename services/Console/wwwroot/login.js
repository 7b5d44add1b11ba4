'use strict';
(async () => {
  const form = document.getElementById('login-form');
  const error = document.getElementById('login-error');
  async function csrf() {
    const r = await fetch('/api/session', { credentials: 'same-origin' });
    const s = await r.json();
    if (s.authenticated) location.replace('/');
    return s.csrfToken;
  }
  let token = await csrf();
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    error.textContent = '';
    const r = await fetch('/api/login', {
      method: 'POST', credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'X-CSRF-TOKEN': token },
      body: JSON.stringify({ user: form.user.value, password: form.password.value }),
    });
    if (r.ok) { location.replace('/'); return; }
    const p = await r.json().catch(() => ({}));
    error.textContent = p.detail || ('Log in failed (' + r.status + ')');
    token = await csrf();
  });
})();
