/**
 * The widget's styles, inside its shadow root: the host page's CSS cannot reach in and
 * these rules cannot leak out. `--ac` is the agency's color (data-color).
 */
export const STYLES = `
:host{all:initial}
*{box-sizing:border-box}
.root{--ac:#0b6e4f;font:15px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;color:#1d2326}
.pending-box{display:contents}
.sr{position:absolute;width:1px;height:1px;margin:-1px;padding:0;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap;border:0}
button{font:inherit;cursor:pointer}
:focus-visible{outline:3px solid #1a73e8;outline-offset:2px}
.launcher{position:fixed;right:20px;bottom:20px;z-index:2147483646;width:60px;height:60px;border:0;border-radius:50%;background:var(--ac);color:#fff;box-shadow:0 4px 14px rgba(0,0,0,.25);display:flex;align-items:center;justify-content:center}
.launcher svg{width:28px;height:28px;fill:currentColor}
.badge{position:absolute;top:-4px;right:-4px;min-width:22px;height:22px;padding:0 6px;border-radius:11px;background:#d93025;color:#fff;font-size:12px;font-weight:700;line-height:22px;text-align:center;border:2px solid #fff}
.panel{position:fixed;right:20px;bottom:92px;z-index:2147483647;width:370px;height:min(600px,calc(100vh - 112px));display:flex;flex-direction:column;background:#fff;border-radius:14px;box-shadow:0 10px 40px rgba(0,0,0,.28);overflow:hidden}
.panel[hidden],.badge[hidden],.typing[hidden],.chips[hidden],.status[hidden]{display:none}
header{background:var(--ac);color:#fff;padding:12px 14px;display:flex;align-items:center;gap:10px}
header .t{flex:1;min-width:0}
h2{margin:0;font-size:16px;font-weight:650;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.status{margin:2px 0 0;font-size:12px;opacity:.9}
.close{width:36px;height:36px;border:0;border-radius:50%;background:transparent;color:#fff;font-size:24px;line-height:1}
.close:hover{background:rgba(255,255,255,.18)}
.log{flex:1;overflow-y:auto;padding:14px;background:#f3f5f6;display:flex;flex-direction:column;gap:8px}
.msg{display:flex;flex-direction:column;max-width:82%}
.msg.visitor{align-self:flex-end;align-items:flex-end}
.msg.bot,.msg.agent,.msg.intro{align-self:flex-start;align-items:flex-start}
.bubble{padding:9px 12px;border-radius:14px;white-space:pre-wrap;overflow-wrap:anywhere;word-break:break-word}
.bot .bubble,.agent .bubble,.intro .bubble{background:#fff;border:1px solid #e1e5e8;border-bottom-left-radius:4px}
.visitor .bubble{background:var(--ac);color:#fff;border-bottom-right-radius:4px}
.visitor .bubble a{color:#fff}
.bubble a{color:#0b57d0;text-decoration:underline}
.meta{font-size:11px;color:#5f6b73;margin:3px 4px 0}
.pending .bubble{opacity:.75}
.failed .bubble{background:#fce8e6;color:#a50e0e;border:1px solid #f4c7c3}
.typing{display:flex;gap:4px;align-self:flex-start;padding:12px 14px;margin:0 14px 8px;background:#fff;border:1px solid #e1e5e8;border-radius:14px;border-bottom-left-radius:4px}
.typing i{width:7px;height:7px;border-radius:50%;background:#8a959c;animation:b 1.2s infinite ease-in-out}
.typing i:nth-child(2){animation-delay:.15s}.typing i:nth-child(3){animation-delay:.3s}
@keyframes b{0%,60%,100%{transform:translateY(0);opacity:.5}30%{transform:translateY(-4px);opacity:1}}
@media (prefers-reduced-motion:reduce){.typing i{animation:none}}
.chips{display:flex;flex-wrap:wrap;gap:6px;padding:8px 14px;background:#f3f5f6;border-top:1px solid #e1e5e8}
.chip{border:1.5px solid var(--ac);background:#fff;color:var(--ac);border-radius:18px;padding:7px 13px;font-size:14px}
.chip:hover{background:var(--ac);color:#fff}
form{display:flex;align-items:flex-end;gap:8px;padding:10px;border-top:1px solid #e1e5e8;background:#fff}
textarea{flex:1;resize:none;border:1px solid #c8d0d5;border-radius:10px;padding:9px 11px;font:inherit;max-height:120px;min-height:40px;color:inherit;background:#fff}
.send{width:42px;height:42px;border:0;border-radius:50%;background:var(--ac);color:#fff;display:flex;align-items:center;justify-content:center;flex:none}
.send svg{width:20px;height:20px;fill:currentColor}
.send:disabled{opacity:.5;cursor:default}
@media (max-width:480px){
.panel{inset:0;width:100%;height:100%;border-radius:0}
.root.open .launcher{display:none}
}
`;
