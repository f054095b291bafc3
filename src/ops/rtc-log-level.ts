// rtc-node writes its own debug lines to stdout, in a format that is not ours, unless NODE_ENV is
// "production" at the moment it loads (it reads it once). Ops tail one JSON format, so load it
// here, first thing in the CLI, with NODE_ENV set for that moment only; whatever the process was
// given is restored for everything else.
const given = process.env.NODE_ENV;
process.env.NODE_ENV = 'production';
try {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  require('@livekit/rtc-node');
} finally {
  if (given === undefined) delete process.env.NODE_ENV;
  else process.env.NODE_ENV = given;
}
export {};
