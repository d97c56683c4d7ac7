/* The web chat's upload control: photos and files as evidence, with progress and a clear
   error. It talks to POST /api/chat/sessions/<token>/files and hands the replies to the
   chat (chat.js exposes window.reportbotChat). */
(function () {
  "use strict";

  function upload(file, chat, api, progress) {
    var token = chat.token();
    if (!token || !chat.canSend()) return;
    var body = new FormData();
    body.append("file", file, file.name || "file");
    var request = new XMLHttpRequest();
    request.open("POST", api + "/" + encodeURIComponent(token) + "/files");
    request.responseType = "json";
    progress.value = 0;
    progress.hidden = false;
    chat.status(chat.strings.uploading);
    request.upload.addEventListener("progress", function (event) {
      if (event.lengthComputable) progress.value = event.loaded / event.total;
    });
    request.addEventListener("load", function () {
      progress.hidden = true;
      var data = request.response;
      if (request.status === 200 && data) {
        chat.echo(file.name || chat.strings.uploading);
        chat.accept(data);
      } else {
        chat.status((data && data.message) || chat.strings.uploadFailed, "error");
      }
    });
    request.addEventListener("error", function () {
      progress.hidden = true;
      chat.status(chat.strings.uploadFailed, "error");
    });
    request.send(body);
  }

  function init() {
    var input = document.getElementById("file-input");
    var progress = document.getElementById("upload-progress");
    var root = document.getElementById("chat");
    if (!input || !progress || !root) return;
    input.addEventListener("change", function () {
      var chat = window.reportbotChat;
      var files = Array.prototype.slice.call(input.files || []);
      if (chat) files.forEach(function (file) { upload(file, chat, root.getAttribute("data-api"), progress); });
      input.value = "";
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
