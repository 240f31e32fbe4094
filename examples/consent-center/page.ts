import type { ConsentSummary, SubjectRecord } from '../../src/index.js';

const escapeHtml = (text: string) =>
  text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string,
  );

const LABELS: Record<string, string> = {
  'marketing.personalized': '个性化推荐 Personalised recommendations',
  'marketing.newsletter': '营销信息 Marketing messages',
};

function purposeLabel(key: string): string {
  return escapeHtml(LABELS[key] ?? key);
}

/**
 * The consent centre page, rendered on the server. Labels are in Chinese first (the notice's
 * language under PIPL), with English. Buttons call the subject endpoints, then reload.
 */
export function renderConsentCenter(
  subject: string,
  consents: readonly ConsentSummary[],
  stored: SubjectRecord | undefined,
): string {
  const withdrawnIds = new Set(stored?.consents.map((c) => c.id));
  const withdrawnPurposes = new Set(stored?.purposes.map((p) => p.purpose));
  const all = stored?.allWithdrawnAt !== undefined;
  const rows = consents
    .flatMap((consent) =>
      consent.purposes.map((purpose) => {
        const withdrawn = all || withdrawnIds.has(consent.id) || withdrawnPurposes.has(purpose);
        const action = withdrawn
          ? '<span class="state">已撤回 Withdrawn</span>'
          : `<button data-action="withdraw-purpose" data-purpose="${escapeHtml(purpose)}">撤回同意 Withdraw consent</button>`;
        return `<tr data-purpose="${escapeHtml(purpose)}"><td>${purposeLabel(purpose)}</td><td>${withdrawn ? '已撤回 Withdrawn' : '已同意 Given'}</td><td>${action}</td></tr>`;
      }),
    )
    .join('\n');
  const optedOut = stored?.optedOut ?? { personalization: false, marketing: false };
  const preference = (kind: 'personalization' | 'marketing', label: string) => {
    const out = optedOut[kind];
    const button = out
      ? `<button data-action="opt-in" data-kind="${kind}">重新开启 Opt back in</button>`
      : `<button data-action="opt-out" data-kind="${kind}">关闭 Opt out</button>`;
    return `<tr data-kind="${kind}"><td>${label}</td><td class="state">${out ? '已关闭 Off' : '已开启 On'}</td><td>${button}</td></tr>`;
  };
  return `<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<title>个人信息同意中心 Consent centre</title>
<style>body{font-family:"Noto Sans CJK SC",sans-serif;max-width:46rem;margin:2rem auto}td{padding:.3rem .8rem}</style>
</head>
<body>
<h1>个人信息同意中心 <small>Consent centre</small></h1>
<p id="who">用户 User: ${escapeHtml(subject)}</p>
<h2>我的同意 My consents</h2>
<table id="consents">${rows}</table>
<p><button data-action="withdraw-all">撤回全部同意 Withdraw all consents</button></p>
<h2>我的偏好 My preferences</h2>
<table id="preferences">
${preference('personalization', '个性化推荐 Personalised recommendations')}
${preference('marketing', '营销信息 Marketing messages')}
</table>
<p id="status" role="status"></p>
<script>
const base = '/privacy/subjects/' + encodeURIComponent(${JSON.stringify(subject)});
async function send(method, path, body) {
  const response = await fetch(base + path, { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const answer = await response.json();
  if (!response.ok) { document.getElementById('status').textContent = '失败 Failed: ' + answer.code; return; }
  location.reload();
}
document.body.addEventListener('click', (event) => {
  const button = event.target.closest('button');
  if (!button) return;
  const { action, purpose, kind } = button.dataset;
  if (action === 'withdraw-purpose') send('POST', '/withdrawals', { scope: 'purpose', purpose });
  if (action === 'withdraw-all') send('POST', '/withdrawals', { scope: 'all' });
  if (action === 'opt-out') send('PUT', '/preferences', { [kind]: false });
  if (action === 'opt-in') send('PUT', '/preferences', { [kind]: true });
});
</script>
</body>
</html>
`;
}
