// HDF5 for Swift: the library's "constants" are macros Swift cannot import, so they are re-exported here.
#include <hdf5.h>

static inline hid_t ionlink_h5t_native_double(void) { return H5T_NATIVE_DOUBLE; }
static inline hid_t ionlink_h5t_c_s1(void) { return H5T_C_S1; }
static inline hid_t ionlink_h5p_default(void) { return H5P_DEFAULT; }
static inline hid_t ionlink_h5s_all(void) { return H5S_ALL; }
static inline unsigned ionlink_h5f_acc_rdonly(void) { return H5F_ACC_RDONLY; }
static inline hid_t ionlink_h5e_default(void) { return H5E_DEFAULT; }
static inline hid_t ionlink_h5p_dataset_xfer(void) { return H5P_DATASET_XFER; }
static inline size_t ionlink_h5t_variable(void) { return H5T_VARIABLE; }
static inline hid_t ionlink_h5t_native_int32(void) { return H5T_NATIVE_INT32; }
static inline hid_t ionlink_h5t_std_ref_obj(void) { return H5T_STD_REF_OBJ; }
/// The path of the object an (old-style) object reference points to; the length, or < 0 on failure.
static inline ssize_t ionlink_h5_reference_name(hid_t location, const hobj_ref_t *reference, char *name, size_t size) {
    return H5Rget_name(location, H5R_OBJECT, reference, name, size);
}
