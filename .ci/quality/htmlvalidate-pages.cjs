// Why this exists: html-validate config for the pages `paperwire serve` shows readers (signup,
// confirm, preferences and the answers after them), used by .ci/signup_e2e.sh on each page as
// served. Web pages, not email: the recommended rules apply, with one addition to what may
// share a name: a group of checkboxes named `topics` is how an HTML form sends a list (the
// endpoint contract reads `topics` repeated), as radio buttons share theirs.
module.exports = {
  extends: ['html-validate:recommended'],
  rules: {
    'form-dup-name': ['error', { shared: ['radio', 'checkbox', 'button', 'reset', 'submit'] }],
  },
};
