/** Browsers come from Debian (apt-get install chromium); never download one. */
module.exports = { skipDownload: true };
