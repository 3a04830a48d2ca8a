// The channelhub server (add it to the mini-program's legal request and socket domains).
module.exports = { baseUrl: "https://channelhub.example.com" };
