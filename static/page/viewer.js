// The compare view, on the page's thread: the selected card's photo and result, one over the other,
// split by a slider (drag on the picture, or the range input's arrow keys); 100% zoom for checking
// hair; the result's mask (its alpha as white on black, drawn by a CSS filter, no pixels touched here).
const $ = (id) => document.getElementById(id);

export function setUpViewer() {
  const split = $("split");
  const show = (percent) => {
    split.value = String(percent);
    split.setAttribute("aria-valuetext", `${percent}% before, ${100 - percent}% after`);
    $("after-layer").style.clipPath = `inset(0 0 0 ${percent}%)`;
    $("divider").style.left = `${percent}%`;
  };
  split.addEventListener("input", () => show(Number(split.value)));
  const frame = $("frame");
  const follow = (event) => {
    const box = frame.getBoundingClientRect();
    show(Math.round(Math.min(Math.max((event.clientX - box.left) / box.width, 0), 1) * 100));
  };
  frame.addEventListener("pointerdown", (event) => {
    frame.setPointerCapture(event.pointerId);
    follow(event);
  });
  frame.addEventListener("pointermove", (event) => {
    if (frame.hasPointerCapture(event.pointerId)) follow(event);
  });
  const toggle = (button, className) =>
    button.addEventListener("click", () => {
      const on = button.getAttribute("aria-pressed") !== "true";
      button.setAttribute("aria-pressed", String(on));
      $("viewer").classList.toggle(className, on);
    });
  toggle($("zoom"), "zoomed");
  toggle($("mask-view"), "masked");
  show(50);

  let current = null;
  return {
    // Shows a card (again, when its result changed).
    show(card) {
      current = card;
      $("viewer").hidden = false;
      $("viewer-title").textContent = card.name;
      $("before").src = card.original;
      $("before").alt = `Before: ${card.name}`;
      // Until there is a result, the photo alone.
      $("after-layer").hidden = $("divider").hidden = !card.result;
      if (card.result) {
        $("after").src = card.result.url;
        $("after").alt = `After: ${card.name}`;
      }
      for (const other of document.querySelectorAll(".card.selected")) other.classList.remove("selected");
      card.element.classList.add("selected");
    },
    get current() {
      return current;
    },
    hide() {
      current = null;
      $("viewer").hidden = true;
    },
  };
}
