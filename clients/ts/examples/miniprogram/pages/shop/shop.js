// One page: sign in, browse with my prices, a cart, ordering offline, a claim with a receipt photo.
// Orders and claims are queued in wx storage and pushed when the network allows; each result
// (applied, amended, rejected) comes back as an `outcome` with its message in zh-CN and English.
const { newId, uploadReceipt } = require("../../lib/channelhub-sdk.js");

const app = getApp();
const yuan = (fen) => (fen / 100).toFixed(2);

Page({
  data: {
    signedIn: false,
    offline: false,
    skus: [],
    cart: [],
    cartTotal: "0.00",
    pending: 0,
    claimable: [],
    outcomes: [],
    message: "",
  },

  onLoad() {
    const { sdk } = app;
    this.offOutcome = sdk.sync.on("outcome", (o) => this.showOutcome(o));
    this.offChange = sdk.sync.on("change", () => this.refreshPending());
    this.setData({ signedIn: Boolean(sdk.http.tokens) });
    if (sdk.http.tokens) return this.refresh();
  },

  onUnload() {
    if (this.offOutcome) this.offOutcome();
    if (this.offChange) this.offChange();
  },

  async login(e) {
    const { username, password } = e.detail.value;
    try {
      await app.sdk.http.login(username, password);
    } catch (err) {
      return this.setData({ message: (err.problem && err.problem.detail) || "登录失败" });
    }
    this.setData({ signedIn: true, message: "" });
    app.sdk.realtime.start();
    await this.refresh();
  },

  /** Sync, then the catalog with my prices (online), else the prices of the last sync. */
  async refresh() {
    await this.trySync();
    const { sdk } = app;
    try {
      const page = await sdk.api.get("/mp/catalog/skus", { query: { limit: 50 } });
      const skus = page.items
        .filter((s) => s.price !== null)
        .map((s) => ({ code: s.code, name: s.name, minOrderQty: s.minOrderQty, unitPrice: s.price.unitPrice, price: yuan(s.price.unitPrice) }));
      const claimable = (await sdk.api.get("/mp/promotions/claimable")).map((p) => ({ id: p.id, name: p.name }));
      this.setData({ skus, claimable, offline: false });
    } catch (err) {
      // Offline: my prices as the last sync stored them (the replica in wx storage).
      const skus = sdk.sync.store.entities("price").map(({ data }) => ({
        code: data.sku, name: data.sku, minOrderQty: 1, unitPrice: data.unitPrice, price: yuan(data.unitPrice),
      }));
      this.setData({ skus, offline: true });
    }
  },

  addToCart(e) {
    const sku = this.data.skus.find((s) => s.code === e.currentTarget.dataset.sku);
    if (!sku) return;
    const cart = this.data.cart.slice();
    const line = cart.find((l) => l.sku === sku.code);
    if (line) line.qty += sku.minOrderQty;
    else cart.push({ sku: sku.code, name: sku.name, qty: sku.minOrderQty, unitPrice: sku.unitPrice });
    this.setData({ cart, cartTotal: yuan(cart.reduce((sum, l) => sum + l.qty * l.unitPrice, 0)) });
  },

  /** Queued first (works offline); its id is its business key, so a retry never doubles it. */
  async placeOrder() {
    if (this.data.cart.length === 0) return;
    const id = newId();
    app.sdk.sync.enqueue("order.create", { id, lines: this.data.cart.map((l) => ({ sku: l.sku, qty: l.qty })) }, id);
    this.setData({ cart: [], cartTotal: "0.00" });
    this.refreshPending();
    await this.trySync();
    return id;
  },

  /** A claim (queued), then its receipt photo: the upload needs the network and the claim on the server. */
  async claim(e) {
    const { sdk } = app;
    const claimId = newId();
    sdk.sync.enqueue("claim.create", { id: claimId, promotionId: e.currentTarget.dataset.promotion }, claimId);
    this.refreshPending();
    const photo = await new Promise((resolve, reject) =>
      wx.chooseMedia({ count: 1, mediaType: ["image"], sourceType: ["camera", "album"], success: resolve, fail: reject }),
    );
    await this.trySync();
    if (sdk.sync.store.pending().length > 0) {
      return this.setData({ message: "已保存，联网后再上传小票 / Saved: the receipt goes up once online" });
    }
    const receiptId = newId();
    await uploadReceipt(sdk.api, { claimId, receiptId, filePath: photo.tempFiles[0].tempFilePath, contentType: "image/png" });
    sdk.sync.enqueue("claim.attach_receipt", { claimId, receiptId, submit: true }, receiptId);
    await this.trySync();
    return claimId;
  },

  async trySync() {
    try {
      await app.sdk.sync.sync();
      this.setData({ offline: false });
    } catch (err) {
      this.setData({ offline: true }); // kept in the queue; pushed on the next sync
    }
    this.refreshPending();
  },

  refreshPending() {
    this.setData({ pending: app.sdk.sync.store.pending().length });
  },

  showOutcome(o) {
    const text = o.message ? o.message["zh-CN"] : o.status === "applied" ? "已提交" : o.status;
    this.setData({ outcomes: [{ mid: o.mid, name: o.name, status: o.status, text }, ...this.data.outcomes].slice(0, 20) });
    if (o.status !== "applied") wx.showToast({ title: text, icon: "none" });
  },
});
