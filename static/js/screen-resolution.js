// The start form reports the screen's size with the session (shown to proctors on review).
const field = document.getElementById("screen-resolution");
if (field) field.value = `${screen.width}x${screen.height}`;
