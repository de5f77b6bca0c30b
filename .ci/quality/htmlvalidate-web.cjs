// Why this exists: html-validate config for the web archive's pages, used by
// .ci/archive_quality.sh. Unlike email HTML, a web page gets the recommended rules unchanged:
// no inline styles, no presentational attributes, native elements.
module.exports = {
  extends: ['html-validate:recommended'],
};
