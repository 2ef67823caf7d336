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
