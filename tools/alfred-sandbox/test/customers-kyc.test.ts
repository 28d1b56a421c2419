import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startReceiver, startSandbox, type WebhookReceiver } from './harness.ts';

let receiver: WebhookReceiver;
const sandbox = startSandbox();
beforeAll(async () => {
  receiver = await startReceiver();
  await sandbox.emu('PUT', '/config', { webhookUrl: receiver.url });
});
afterAll(async () => {
  await sandbox.close();
  await receiver.close();
});

const kycData = {
  firstName: 'Ana',
  lastName: 'Silva',
  dateOfBirth: '1990-04-12',
  country: 'BR',
  city: 'São Paulo',
  state: 'SP',
  zipCode: '01310-100',
  address: 'Av. Paulista 1000',
  dni: '39053344705',
  nationalities: ['BR'],
};

async function newCustomer(type = 'INDIVIDUAL') {
  const email = `${randomUUID()}@example.com`;
  const res = await sandbox.call('POST', '/customers/create', { email, type, country: 'BR' });
  return { email, customerId: res.json().customerId as string, res };
}

describe('customers', () => {
  it('when a customer is created, then it can be read by id and found by email and country, with no KYC yet', async () => {
    const { email, customerId, res } = await newCustomer();
    expect(res.statusCode).toBe(201);
    expect(res.json()).toEqual({ customerId, createdAt: expect.any(String) });
    const byId = await sandbox.call('GET', `/customers/${customerId}`);
    expect(byId.json()).toMatchObject({ customerId, email, type: 'INDIVIDUAL', country: 'BR', statusKyc: 'NOT_STARTED' });
    const found = await sandbox.call('GET', `/customers/find/${encodeURIComponent(email.toUpperCase())}/BR`);
    expect(found.json().customerId).toBe(customerId);
    expect((await sandbox.call('GET', `/customers/find/${encodeURIComponent(email)}/MX`)).statusCode).toBe(404);
  });

  it('when the same email registers twice in a country, then 409 with the existing id', async () => {
    const { email, customerId } = await newCustomer();
    const again = await sandbox.call('POST', '/customers/create', { email, type: 'INDIVIDUAL', country: 'BR' });
    expect(again.statusCode).toBe(409);
    expect(again.json().errorMetadata).toEqual({ customerId });
  });

  it('when the body is malformed, then 400 111300 names the fields', async () => {
    const res = await sandbox.call('POST', '/customers/create', { email: 'nope', type: 'PERSON', country: 'Brazil' });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({ errorCode: 111300, errorMessage: 'Bad request', errorMetadata: { fields: ['email', 'type', 'country'] } });
  });
});

describe('KYC', () => {
  it('when a submission is created and submitted, then it is IN_REVIEW and a KYC webhook says so', async () => {
    const { customerId } = await newCustomer();
    const created = await sandbox.call('POST', `/customers/${customerId}/kyc`, { kycSubmission: kycData });
    expect(created.statusCode).toBe(201);
    const { submissionId, status } = created.json();
    expect(status).toBe('CREATED');
    const submitted = await sandbox.call('POST', `/customers/${customerId}/kyc/${submissionId}/submit`, undefined, {
      'content-type': 'application/json',
    });
    expect(submitted.json()).toMatchObject({ submissionId, status: 'IN_REVIEW' });
    const polled = await sandbox.call('GET', `/customers/${customerId}/kyc/${submissionId}/status`);
    expect(polled.json()).toMatchObject({ submissionId, status: 'IN_REVIEW' });
    expect((await sandbox.call('GET', `/customers/${customerId}`)).json()).toMatchObject({
      statusKyc: 'IN_REVIEW',
      firstName: 'Ana',
      dni: '39053344705',
    });
    await sandbox.webhooks.idle();
    const sent = receiver.received.map((r) => JSON.parse(r.rawBody)).filter((b) => b.referenceId === submissionId);
    expect(sent).toEqual([{ referenceId: submissionId, eventType: 'KYC', status: 'IN_REVIEW', metadata: null }]);
  });

  it('when the driver completes a submission, then the customer is COMPLETED; a later FAILED is refused with 111302', async () => {
    const { customerId } = await newCustomer();
    const { submissionId } = (await sandbox.call('POST', `/customers/${customerId}/kyc`, { kycSubmission: kycData })).json();
    await sandbox.call('POST', `/customers/${customerId}/kyc/${submissionId}/submit`);
    const done = await sandbox.call('POST', '/webhooks', {
      referenceId: submissionId,
      eventType: 'KYC',
      status: 'COMPLETED',
      metadata: null,
    });
    expect(done.statusCode).toBe(201);
    expect(done.json()).toEqual({ message: 'success' });
    expect((await sandbox.call('GET', `/customers/${customerId}`)).json().statusKyc).toBe('COMPLETED');
    const late = await sandbox.call('POST', '/webhooks', {
      referenceId: submissionId,
      eventType: 'KYC',
      status: 'FAILED',
      metadata: { reason: 'late' },
    });
    expect(late.statusCode).toBe(400);
    expect(late.json()).toMatchObject({ errorCode: 111302, errorMetadata: { from: 'COMPLETED', to: 'FAILED' } });
    expect(sandbox.state.kycSubmissions.get(submissionId)?.status).toBe('COMPLETED');
  });

  it('when an update is required, then the metadata is kept and the customer can submit again', async () => {
    const { customerId } = await newCustomer();
    const { submissionId } = (await sandbox.call('POST', `/customers/${customerId}/kyc`, { kycSubmission: kycData })).json();
    await sandbox.call('POST', `/customers/${customerId}/kyc/${submissionId}/submit`);
    const metadata = { reason: 'blurry selfie' };
    await sandbox.call('POST', '/webhooks', { referenceId: submissionId, eventType: 'KYC', status: 'UPDATE_REQUIRED', metadata });
    const polled = await sandbox.call('GET', `/customers/${customerId}/kyc/${submissionId}/status`);
    expect(polled.json()).toMatchObject({ status: 'UPDATE_REQUIRED', metadata });
    expect((await sandbox.call('POST', `/customers/${customerId}/kyc/${submissionId}/submit`)).json().status).toBe('IN_REVIEW');
    expect((await sandbox.call('POST', `/customers/${customerId}/kyc/${submissionId}/submit`)).json().errorCode).toBe(111302);
  });

  it('when a business is verified through the emulator, then its webhook is a KYB event', async () => {
    const { customerId } = await newCustomer('BUSINESS');
    const res = await sandbox.emu('POST', `/kyc/${customerId}`, { status: 'COMPLETED' });
    expect(res.json().status).toBe('COMPLETED');
    await sandbox.webhooks.idle();
    const submissionId = res.json().submissionId;
    expect(sandbox.state.deliveries.filter((d) => d.body.referenceId === submissionId).map((d) => d.body.eventType)).toEqual(['KYB']);
  });

  it('when the submission is incomplete or unknown, then 400 names the fields and 404 the reference', async () => {
    const { customerId } = await newCustomer();
    const bad = await sandbox.call('POST', `/customers/${customerId}/kyc`, {
      kycSubmission: { ...kycData, dateOfBirth: '12/04/1990', dni: '' },
    });
    expect(bad.json().errorMetadata.fields).toEqual(['kycSubmission.dateOfBirth', 'kycSubmission.dni']);
    expect((await sandbox.call('GET', `/customers/${customerId}/kyc/${randomUUID()}/status`)).statusCode).toBe(404);
    expect((await sandbox.call('POST', '/webhooks', { referenceId: randomUUID(), eventType: 'KYC', status: 'COMPLETED' })).statusCode).toBe(
      404,
    );
  });
});
