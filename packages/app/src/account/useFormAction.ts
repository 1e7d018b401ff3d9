/** A form's submit state: busy while the request runs, then the server's errors by field. */
import { useState } from 'react';
import { NO_ERRORS, readFormErrors, type FormErrors } from '../form-errors';

export function useFormAction(aliases: Record<string, string>) {
  const [errors, setErrors] = useState<FormErrors>(NO_ERRORS);
  const [busy, setBusy] = useState(false);
  async function run(action: () => Promise<void>): Promise<boolean> {
    setBusy(true);
    setErrors(NO_ERRORS);
    try {
      await action();
      return true;
    } catch (err) {
      setErrors(readFormErrors(err, aliases));
      return false;
    } finally {
      setBusy(false);
    }
  }
  return { errors, setErrors, busy, run };
}
