// Copy buttons are an enhancement: they stay hidden where scripts or the clipboard are unavailable.
document.addEventListener("DOMContentLoaded", () => {
  if (!navigator.clipboard) return;
  // A feed preview (an XML document, no body) carries its live region; a page gets one here.
  let status = document.querySelector(".copy-status");
  if (!status) {
    status = document.createElement("p");
    status.className = "vh";
    status.setAttribute("role", "status");
    document.body.append(status);
  }
  for (const button of document.querySelectorAll("button.copy")) {
    const label = button.querySelector(".label") || button;
    const idle = label.textContent;
    let timer;
    button.hidden = false;
    button.addEventListener("click", async () => {
      try {
        await navigator.clipboard.writeText(button.dataset.url);
        label.textContent = "Copied";
        status.textContent = `Copied ${button.dataset.url}`;
      } catch {
        label.textContent = "Copy failed";
        status.textContent = "Could not copy; select the address instead.";
      }
      clearTimeout(timer);
      timer = setTimeout(() => { label.textContent = idle; }, 2000);
    });
  }
});
