// Why this exists: html-validate config for email HTML, used by .ci/email_quality.sh on the
// HTML part of each message. The recommended rules stay on, minus what email needs and the web
// forbids:
// - inline styles: mail clients drop or ignore <style> (Gmail on mobile web), so critical
//   styles must be inline;
// - presentational attributes (width, cellpadding, cellspacing, border, bgcolor, align): Outlook
//   and old webmail lay out by them; HTML5 calls them deprecated;
// - conditional comments: `<!--[if mso]>` ghost tables give Outlook for Windows (Word's engine,
//   which ignores max-width) its fixed 600 px column;
// - `<div role="article">` instead of <article>: the accessible wrapper email clients keep
//   (several strip or rename HTML5 sectioning elements). Every other native-element hint stays.
module.exports = {
  extends: ['html-validate:recommended'],
  rules: {
    'no-inline-style': 'off',
    'no-deprecated-attr': 'off',
    'no-conditional-comment': 'off',
    'prefer-native-element': ['error', { exclude: ['article'] }],
  },
};
