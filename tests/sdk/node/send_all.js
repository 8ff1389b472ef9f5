// Vonage's Node SDK (@vonage/server-sdk 3.x) against the sandbox: run by tests/test_v1_node_sdk.py.
//
// Environment: SANDBOX_URL (the apiHost), AUTH ("basic" | "jwt"), API_KEY/API_SECRET or
// APPLICATION_ID/PRIVATE_KEY, INBOUND_UUID (an inbound WhatsApp message to mark read).
// Prints one JSON object: each step's name and what the SDK returned or threw.
const { Vonage } = require('@vonage/server-sdk');
const { SMS, WhatsAppText, RCSText, UpdateMessageStatus } = require('@vonage/messages');

const env = process.env;
const credentials = env.AUTH === 'jwt'
  ? { applicationId: env.APPLICATION_ID, privateKey: env.PRIVATE_KEY }
  : { apiKey: env.API_KEY, apiSecret: env.API_SECRET };
const vonage = new Vonage(credentials, { apiHost: env.SANDBOX_URL });

const TO = '447700900000';
const IMAGE = 'https://example.com/image.jpg';
const VIDEO = 'https://example.com/video.mp4';
const FILE = 'https://example.com/file.pdf';
const AUDIO = 'https://example.com/audio.mp3';

// One send per channel and message type, in the SDK's own (camelCase) parameters.
const sends = {
  'sms/text': new SMS({ to: TO, from: 'Acme', text: 'Hello from the Node SDK', clientRef: 'node-sdk' }),
  'mms/image': { channel: 'mms', messageType: 'image', to: TO, from: '14155550101', image: { url: IMAGE } },
  'mms/vcard': { channel: 'mms', messageType: 'vcard', to: TO, from: '14155550101', vcard: { url: 'https://example.com/c.vcf' } },
  'mms/audio': { channel: 'mms', messageType: 'audio', to: TO, from: '14155550101', audio: { url: AUDIO } },
  'mms/video': { channel: 'mms', messageType: 'video', to: TO, from: '14155550101', video: { url: VIDEO } },
  'rcs/text': new RCSText({ to: TO, from: 'AcmeRCS', text: 'Hello over RCS' }),
  'rcs/image': { channel: 'rcs', messageType: 'image', to: TO, from: 'AcmeRCS', image: { url: IMAGE } },
  'rcs/video': { channel: 'rcs', messageType: 'video', to: TO, from: 'AcmeRCS', video: { url: VIDEO } },
  'rcs/file': { channel: 'rcs', messageType: 'file', to: TO, from: 'AcmeRCS', file: { url: FILE } },
  'rcs/custom': { channel: 'rcs', messageType: 'custom', to: TO, from: 'AcmeRCS', custom: { contentMessage: { text: 'hi' } } },
  'whatsapp/text': new WhatsAppText({ to: TO, from: '447700900001', text: 'Hello on WhatsApp' }),
  'whatsapp/image': { channel: 'whatsapp', messageType: 'image', to: TO, from: '447700900001', image: { url: IMAGE, caption: 'A picture' } },
  'whatsapp/audio': { channel: 'whatsapp', messageType: 'audio', to: TO, from: '447700900001', audio: { url: AUDIO } },
  'whatsapp/video': { channel: 'whatsapp', messageType: 'video', to: TO, from: '447700900001', video: { url: VIDEO } },
  'whatsapp/file': { channel: 'whatsapp', messageType: 'file', to: TO, from: '447700900001', file: { url: FILE, name: 'file.pdf' } },
  'whatsapp/template': { channel: 'whatsapp', messageType: 'template', to: TO, from: '447700900001', template: { name: 'ns:verify', parameters: ['123'] }, whatsapp: { policy: 'deterministic', locale: 'en_GB' } },
  'whatsapp/sticker': { channel: 'whatsapp', messageType: 'sticker', to: TO, from: '447700900001', sticker: { id: '13aaecab-2485-4255-a0a7-97a2a2f1c9ee' } },
  'whatsapp/reaction': { channel: 'whatsapp', messageType: 'reaction', to: TO, from: '447700900001', reaction: { action: 'react', emoji: '😀' }, context: { messageUuid: 'aaaaaaaa-bbbb-4ccc-8ddd-0123456789ab' } },
  'whatsapp/custom': { channel: 'whatsapp', messageType: 'custom', to: TO, from: '447700900001', custom: { type: 'location', location: { latitude: 51.5, longitude: -0.1 } } },
  'messenger/text': { channel: 'messenger', messageType: 'text', to: '2456891981102343', from: '107083064136738', text: 'Hello on Messenger' },
  'messenger/image': { channel: 'messenger', messageType: 'image', to: '2456891981102343', from: '107083064136738', image: { url: IMAGE } },
  'viber_service/text': { channel: 'viber_service', messageType: 'text', to: TO, from: 'Acme', text: 'Hello on Viber', viberService: { action: { url: 'https://example.com', text: 'Open' } } },
  'viber_service/video': { channel: 'viber_service', messageType: 'video', to: TO, from: 'Acme', video: { url: VIDEO, thumbUrl: IMAGE }, viberService: { duration: '52', fileSize: '3' } },
  'email/html': { channel: 'email', messageType: 'html', to: 'customer@example.com', from: 'sender@example.com', html: { body: '<p>Hi</p>' }, email: { subject: 'Hello' } },
  failover: {
    channel: 'rcs', messageType: 'text', to: TO, from: 'AcmeRCS', text: 'RCS first',
    failover: [{ channel: 'sms', messageType: 'text', to: TO, from: 'Acme', text: 'SMS second' }],
  },
};

// Requests the sandbox must refuse with the document's 422 (or 404).
const invalid = {
  'bad-recipient': { channel: 'sms', messageType: 'text', to: '12', from: 'Acme', text: 'hi' },
  'bad-channel': { channel: 'fax', messageType: 'text', to: TO, from: 'Acme', text: 'hi' },
  'missing-image-url': { channel: 'whatsapp', messageType: 'image', to: TO, from: '447700900001', image: {} },
};

async function attempt(action) {
  try {
    return { ok: true, value: await action() };
  } catch (error) {
    const response = error.response;
    const body = response ? await response.text() : null;
    return {
      ok: false,
      status: response ? response.status : null,
      contentType: response ? response.headers.get('content-type') : null,
      body: body ? JSON.parse(body) : null,
      message: String(error.message),
    };
  }
}

async function main() {
  const results = {};
  for (const [name, message] of Object.entries(sends)) {
    results[name] = await attempt(() => vonage.messages.send(message));
  }
  for (const [name, message] of Object.entries(invalid)) {
    results[name] = await attempt(() => vonage.messages.send(message));
  }
  results.read = await attempt(() => vonage.messages.updateMessage(env.INBOUND_UUID, UpdateMessageStatus.READ));
  results['read-unknown'] = await attempt(() => vonage.messages.updateMessage('00000000-0000-4000-8000-000000000000', UpdateMessageStatus.READ));
  process.stdout.write(JSON.stringify(results));
}

main().catch((error) => {
  process.stderr.write(`${error.stack}\n`);
  process.exit(1);
});
