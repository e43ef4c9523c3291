// Preloaded into third-party Node servers started by Conduit's interop tests (node --require):
// forces every listening socket onto 127.0.0.1 (the servers would otherwise listen on every
// interface) and reports the port the OS chose as "CONDUIT_LISTENING <port>" on stderr.
'use strict';
const net = require('net');
const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  if (args.length > 0 && (typeof args[0] === 'number' || (typeof args[0] === 'string' && /^\d+$/.test(args[0])))) {
    if (typeof args[1] !== 'string') {
      args.splice(1, 0, '127.0.0.1');
    } else {
      args[1] = '127.0.0.1';
    }
  } else if (args.length > 0 && args[0] !== null && typeof args[0] === 'object' && args[0].path === undefined) {
    args[0] = Object.assign({}, args[0], { host: '127.0.0.1' });
  }
  this.once('listening', () => {
    const address = this.address();
    if (address && typeof address === 'object') {
      process.stderr.write(`CONDUIT_LISTENING ${address.port}\n`);
    }
  });
  return listen.apply(this, args);
};
