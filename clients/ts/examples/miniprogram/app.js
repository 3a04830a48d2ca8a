// The app: one SDK (API, sync engine on wx storage, realtime pokes) for every page.
const { createWechatSdk } = require("./lib/channelhub-sdk.js");
const { baseUrl } = require("./config.js");

const TOKENS = "auth:tokens";

App({
  onLaunch() {
    const saved = wx.getStorageSync(TOKENS);
    this.sdk = createWechatSdk({
      baseUrl,
      wx,
      tokens: saved ? JSON.parse(saved) : null,
      // Refresh tokens rotate: keep the newest, forget them on sign-out.
      onTokens: (tokens) => (tokens ? wx.setStorageSync(TOKENS, JSON.stringify(tokens)) : wx.removeStorageSync(TOKENS)),
    });
    if (saved) this.sdk.realtime.start();
  },
  onShow() {
    // Back in the foreground: push what was queued, pull what changed.
    if (this.sdk && this.sdk.http.tokens) this.sdk.realtime.foreground().catch(() => undefined);
  },
  onHide() {
    if (this.sdk) this.sdk.realtime.stop();
  },
});
