// A failover workflow sent with Vonage's Node SDK: run by tests/test_v1_node_sdk.py.
//
// WhatsApp to the magic recipient 15550001340 (rejected with 1340, outside the window), then
// SMS. Environment: SANDBOX_URL, API_KEY, API_SECRET. Prints what the SDK returned.
const { Vonage } = require('@vonage/server-sdk');

const env = process.env;
const vonage = new Vonage({ apiKey: env.API_KEY, apiSecret: env.API_SECRET }, { apiHost: env.SANDBOX_URL });

const workflow = {
  channel: 'whatsapp',
  messageType: 'text',
  to: '15550001340',
  from: '447700900001',
  text: 'Your parcel arrives today',
  clientRef: 'parcel-42',
  failover: [{ channel: 'sms', messageType: 'text', to: '447700900000', from: 'Acme', text: 'Your parcel arrives today' }],
};

vonage.messages.send(workflow)
  .then((value) => process.stdout.write(JSON.stringify(value)))
  .catch((error) => {
    process.stderr.write(`${error.stack}\n`);
    process.exit(1);
  });
