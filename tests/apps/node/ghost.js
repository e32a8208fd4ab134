// Sends one message the way Ghost does: TryGhost/Ghost ghost/core/core/server/services/mail/
// GhostMailer.js reads config.production.json's mail (transport, options, from) and hands
// mail.options unchanged to nodemailer's SMTP transport (Debian's node-nodemailer).
// Input (stdin, JSON): {"config": "<config.production.json text>", "to": ...}.
"use strict";
const nodemailer = require("nodemailer");

let input = "";
process.stdin.on("data", (chunk) => { input += chunk; });
process.stdin.on("end", async () => {
  try {
    const request = JSON.parse(input);
    const mail = JSON.parse(request.config).mail;
    if (String(mail.transport).toLowerCase() !== "smtp") throw new Error(`transport ${mail.transport}`);
    const transport = nodemailer.createTransport(mail.options);
    await transport.sendMail({ from: mail.from, to: request.to, subject: "smtpwizard app test", text: "hello" });
    console.log(JSON.stringify({ ok: true }));
  } catch (error) {
    console.log(JSON.stringify({ ok: false, error: `${error.code || error.name}: ${error.message}` }));
    process.exitCode = 1;
  }
});
