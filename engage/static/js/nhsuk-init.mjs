import { initAll } from "/assets/nhsuk-frontend.min.js";

document.body.classList.add("nhsuk-frontend-supported");
initAll();
