// molap docs (tools/build_docs.py adds this to the pages with maths, after KaTeX has typeset them):
// a display equation a little wider than the column is shrunk to fit it, down to 70% of its size; one still wider
// scrolls sideways in its own box, which then gets the class `scrolls` (a shadow at its edge shows there is more).
(() => {
  const MIN = 0.7;
  const fit = () => {
    document.querySelectorAll(".katex-display").forEach((box) => {
      const eq = box.querySelector(":scope > .katex");
      if (!eq) return;
      eq.style.fontSize = "";
      box.classList.remove("scrolls");
      const need = box.scrollWidth, have = box.clientWidth;
      if (need <= have + 1) return;
      const base = parseFloat(getComputedStyle(eq).fontSize);
      const scale = Math.max(MIN, (have - 2) / need);
      eq.style.fontSize = `${base * scale}px`;
      if (box.scrollWidth > box.clientWidth + 1) box.classList.add("scrolls");
    });
  };
  let queued = 0;
  const later = () => { cancelAnimationFrame(queued); queued = requestAnimationFrame(fit); };
  fit();
  document.fonts.ready.then(fit);  // KaTeX's fonts change the widths
  window.addEventListener("resize", later);
  document.addEventListener("toggle", later, true);  // an equation inside a <details> that opens
})();
